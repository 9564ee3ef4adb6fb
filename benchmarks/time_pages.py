"""Time the pages given, as a logged-in superuser through Django's test client: median wall and CPU
time of 7 runs after one warm-up. CPU time is the web process's own, steadier on a shared machine.

    DATA_DIR=/tmp/perf-sqlite SECRET_KEY=x .venv/bin/python benchmarks/time_pages.py \\
        "/dashboard/?range=30d&bucket=hour&tz=Asia/Kathmandu" "/dashboard/?range=90d&bucket=day"

`--rollback` first: everything in one transaction, rolled back at the end, so a database shared
read-only is left as it was (the login writes a user and a session). Not on a SQLite database others
write to: the transaction holds its write lock throughout.
"""

import statistics
import sys
import time

from django.db import transaction
from run import superuser_client  # benchmarks/run.py: Django set up, pages without collectstatic

RUNS = 7


def main(urls: list[str]) -> None:
    client = superuser_client()
    for url in urls:
        client.get(url)
        wall, cpu = [], []
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        print(f"{url}: wall median {statistics.median(wall):.0f} ms, CPU median {statistics.median(cpu):.0f} ms")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rollback"]:
        with transaction.atomic():
            main(sys.argv[2:])
            transaction.set_rollback(True)
    else:
        main(sys.argv[1:])
