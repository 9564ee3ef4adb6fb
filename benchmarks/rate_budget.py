"""Benchmark: one FastRouter rate budget for the whole deployment.

    python benchmarks/rate_budget.py [--rpm 300] [--seconds 150] [--backend database|redis] [--web-processes 3]

Starts the simulator limited to --rpm (a sliding 60 s window; 429 + Retry-After when exceeded, no
random throttling), two `fetch_worker` processes (4 threads each) with more queued ids than they
can fetch, and --web-processes processes standing in for gunicorn's web workers, each looking up
a fresh id every --lookup-pause seconds or so through the service the lookup page calls. Every process has
FASTROUTER_MAX_RPM=--rpm and shares one budget: the database (a throw-away SQLite file, or
DATABASE_URL: use a database of its own, it is migrated and filled) or Redis (--redis-url, whose
budget key is deleted first). After --seconds the workers get SIGTERM.

Reports the requests the simulator received: per minute over the run and the most in any sliding
60 s (target: ≤ --rpm), 429s (target: 0), and the lookups: answered, told to wait ("rate budget
is in use") and their slowest time. Writes benchmarks/results/rate_budget-<backend>.json.
"""

import argparse
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def lookup_loop(until: float, seed: str, pause: float) -> None:
    """One web process: a lookup of a fresh id every `pause` seconds or so, until `until` (Unix time)."""
    import django

    django.setup()
    from fastrouter_simulator.server import demo_ids
    from generations import services
    from generations.fastrouter.errors import FastRouterError

    outcomes: Counter[str] = Counter()
    took: list[float] = []
    rng = random.Random(seed)
    for generation_id in demo_ids(100_000, seed=seed):
        if time.time() >= until:
            break
        started = time.monotonic()
        try:
            services.generation_lookup(generation_id=generation_id)
        except FastRouterError as error:
            outcomes[type(error).__name__] += 1
        else:
            outcomes["stored"] += 1
        took.append(time.monotonic() - started)
        time.sleep(rng.uniform(0, 2 * pause))
    print(json.dumps({"outcomes": outcomes, "took": took}))


def most_in_any_minute(times: list[float]) -> int:
    most, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - 60:
            first += 1
        most = max(most, last - first + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rpm", type=int, default=300, help="the simulator's limit and FASTROUTER_MAX_RPM")
    parser.add_argument("--seconds", type=float, default=150, help="how long everything runs")
    parser.add_argument("--backend", choices=("database", "redis"), default="database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--web-processes", type=int, default=3)
    parser.add_argument("--lookup-pause", type=float, default=2.0, help="mean seconds between one process's lookups")
    parser.add_argument("--lookup-loop", nargs=2, metavar=("UNTIL", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookup_loop:
        lookup_loop(float(args.lookup_loop[0]), args.lookup_loop[1], args.lookup_pause)
        return

    workdir = Path(tempfile.mkdtemp(prefix="rate-budget-bench-"))
    api_key = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fastrouter_dash.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(32),
        "DATA_DIR": str(workdir),
        "LOG_LEVEL": "ERROR",
        "FASTROUTER_API_KEY": api_key,
        "FASTROUTER_MAX_RPM": str(args.rpm),
        "CACHE_URL": args.redis_url if args.backend == "redis" else "",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from fastrouter_simulator.server import SimulatorConfig, demo_ids, make_server
    from generations.ingest import queue
    from generations.ingest.models import LookupBatch, LookupRequest

    call_command("migrate", verbosity=0)
    if args.backend == "redis":
        import redis

        from generations.fastrouter.rate_budget import DEFAULT_BUDGET, RedisBudgetStore

        redis.Redis.from_url(args.redis_url).delete(RedisBudgetStore.key(DEFAULT_BUDGET))
    server = make_server(SimulatorConfig(api_key=api_key, rpm_limit=args.rpm, retry_after_format="mixed"))
    received: list[tuple[float, int]] = []
    count = server.count

    def count_with_time(status: int) -> None:
        received.append((time.time(), status))
        count(status)

    server.count = count_with_time
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env["FASTROUTER_BASE_URL"] = server.url.removesuffix("/api/v1/generation")
    # More than the whole budget could fetch: the workers never run dry.
    queue.generation_enqueue(ids=demo_ids(args.rpm * 5, seed="budget-bench"), source=LookupBatch.Source.CLI)

    print(
        f"simulator {args.rpm} RPM; 2 fetch workers × 4 threads + {args.web_processes} web processes of lookups, "
        f"{args.seconds:.0f} s, budget in {args.backend} …",
        flush=True,
    )
    until = time.time() + args.seconds
    manage = [sys.executable, str(ROOT / "manage.py")]
    workers = [
        subprocess.Popen(  # noqa: S603 (our own manage.py)
            [*manage, "fetch_worker", "--concurrency", "4"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    webs = [
        subprocess.Popen(  # noqa: S603 (this script)
            [
                sys.executable,
                __file__,
                "--lookup-loop",
                str(until),
                f"web-{index}",
                "--lookup-pause",
                str(args.lookup_pause),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(args.web_processes)
    ]
    lookups = [json.loads(web.communicate(timeout=args.seconds + 120)[0]) for web in webs]
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)
    server.shutdown()

    times = sorted(moment for moment, _ in received)
    statuses = Counter(status for _, status in received)
    minutes = (times[-1] - times[0]) / 60
    outcomes = sum((Counter(result["outcomes"]) for result in lookups), Counter())
    took = sorted(seconds for result in lookups for seconds in result["took"])
    result = {
        "backend": args.backend,
        "allowed_rpm": args.rpm,
        "seconds": args.seconds,
        "requests": len(times),
        "requests_per_minute": round(len(times) / minutes, 1),
        "most_in_any_60_s": most_in_any_minute(times),
        "responses_by_status": {str(status): n for status, n in sorted(statuses.items())},
        "worker_stored": LookupRequest.objects.filter(state=LookupRequest.State.STORED).count(),
        "lookups": dict(outcomes),
        "lookup_seconds_median": round(statistics.median(took), 2),
        "lookup_seconds_p95": round(took[int(len(took) * 0.95)], 2),
        "lookup_seconds_max": round(took[-1], 2),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rate_budget-{args.backend}.json").write_text(json.dumps(result, indent=2))
    ok = result["most_in_any_60_s"] <= args.rpm and not statuses.get(429)
    print("PASS" if ok else f"FAIL: targets are at most {args.rpm} requests in any 60 s and no 429")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
