"""Time the garbage collector spends inside each request of a page, with the start-up objects frozen
(as `fastrouter_dash.wsgi` leaves a web process) and unfrozen, taking turns: median of 5 requests
each, after a warm-up. Collector time is counted through `gc.callbacks`, so it holds on a busy
machine where wall times do not.

    DATA_DIR=/tmp/perf-sqlite SECRET_KEY=x .venv/bin/python benchmarks/gc_time.py \\
        "/dashboard/?range=30d&bucket=hour&tz=Asia/Kathmandu"
"""

import gc
import statistics
import sys
import time

from run import superuser_client  # benchmarks/run.py: set up through fastrouter_dash.wsgi

RUNS = 5


def main(url: str) -> None:
    client = superuser_client()
    collections: list[float] = []
    started = [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections.append(time.perf_counter() - started[0])

    gc.callbacks.append(timed)
    for frozen in (True, False, True, False):
        gc.freeze() if frozen else gc.unfreeze()
        client.get(url)
        per_request = []
        for _ in range(RUNS):
            collections.clear()
            client.get(url)
            per_request.append(sum(collections) * 1000)
        state = f"frozen ({gc.get_freeze_count():,} objects)" if frozen else "unfrozen"
        print(f"{state}: collector {statistics.median(per_request):.0f} ms per request (median of {RUNS})")


if __name__ == "__main__":
    main(sys.argv[1])
