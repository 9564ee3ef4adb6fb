"""Benchmark: the fetch worker against the rate-limited, faulty simulator.

    python benchmarks/ingest_queue.py [--rpm 600] [--seconds 90] [--throttle-rate 0.05] [--error-rate 0.02]

Queues rpm × seconds / 60 simulator ids in a throw-away SQLite database (or DATABASE_URL if
set: use a database of its own, it is migrated and filled), runs `fetch_worker --once`
against a simulator limited to --rpm (429 + Retry-After, both forms, when exceeded) that also
refuses --throttle-rate of all requests with 429 + Retry-After: 1 and answers --error-rate with
5xx, and reports: achieved rate ÷ allowed rate (target ≥ 0.9), ids
lost (target 0), duplicate rows (target 0), ids fetched again after success (target 0).
The worker's own limit is the allowed rate unless --worker-rpm says otherwise.
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rpm", type=int, default=600, help="the simulator's limit (the allowed rate)")
    parser.add_argument("--seconds", type=float, default=90, help="queue enough ids for this long at --rpm")
    parser.add_argument("--worker-rpm", type=int, default=None, help="the worker's limit (default --rpm)")
    parser.add_argument("--throttle-rate", type=float, default=0.05, help="share of requests refused with 429")
    parser.add_argument("--error-rate", type=float, default=0.02, help="share of 500/502/503 answers")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["DATA_DIR"] = str(workdir)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from fastrouter_simulator.server import SimulatorConfig, demo_ids, make_server
    from generations.ingest import queue
    from generations.ingest.models import LookupBatch, LookupRequest
    from generations.ingest.worker import FetchWorker
    from generations.models import Generation

    call_command("migrate", verbosity=0)
    api_key = secrets.token_urlsafe(16)
    server = make_server(
        SimulatorConfig(
            api_key=api_key,
            rpm_limit=args.rpm,
            retry_after_format="mixed",
            error_rate=args.error_rate,
            throttle_rate=args.throttle_rate,
            seed=args.seed,
        )
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.FASTROUTER_BASE_URL = server.url.removesuffix("/api/v1/generation")
    settings.FASTROUTER_API_KEY = api_key
    # Short backoff so the last retried ids do not dominate a short run.
    settings.FETCH_RETRY_BASE_SECONDS = 1.0
    settings.FETCH_MAX_ATTEMPTS = 10

    count = int(args.rpm * args.seconds / 60)
    ids = demo_ids(count, seed=f"bench-{args.seed}")
    queue.generation_enqueue(ids=ids, source=LookupBatch.Source.CLI, label="benchmark")
    worker_rpm = args.worker_rpm or args.rpm
    worker = FetchWorker(concurrency=args.concurrency, max_rpm=worker_rpm, once=True, idle_seconds=0.1)
    print(f"{count} ids; simulator {args.rpm} RPM, worker {worker_rpm} RPM × {args.concurrency} threads …", flush=True)
    started = time.monotonic()
    stats = worker.run()
    elapsed = time.monotonic() - started
    server.shutdown()

    states = dict(LookupRequest.objects.values_list("generation_id", "state"))
    stored = sum(1 for i in ids if states.get(i) == "stored")
    explained = sum(1 for i in ids if states.get(i) in ("not_found", "failed"))
    lost = count - stored - explained
    rows = Generation.objects.count()
    duplicates = rows - Generation.objects.values("generation_id").distinct().count()
    status = server.status_counts()
    requests_total = sum(status.values())
    achieved = stored / (elapsed / 60)
    result = {
        "ids": count,
        "allowed_rpm": args.rpm,
        "worker_rpm": worker_rpm,
        "elapsed_seconds": round(elapsed, 1),
        "achieved_rpm": round(achieved, 1),
        "achieved_over_allowed": round(achieved / args.rpm, 3),
        "stored": stored,
        "explained_failed_or_not_found": explained,
        "ids_lost": lost,
        "duplicate_rows": duplicates,
        "fetched_again_after_success": status.get(200, 0) - stored,
        "responses_by_status": {str(k): v for k, v in sorted(status.items())},
        "share_429": round(status.get(429, 0) / requests_total, 3),
        "share_5xx": round(sum(v for k, v in status.items() if k >= 500) / requests_total, 3),
        "worker_stats": {"rate_limited": stats.rate_limited, "retried": stats.retried, "failed": stats.failed},
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_queue.json").write_text(json.dumps(result, indent=2))
    ok = result["achieved_over_allowed"] >= 0.9 and lost == 0 and duplicates == 0
    print("PASS" if ok else "FAIL: targets are rate ≥ 0.9 of allowed, 0 lost, 0 duplicates")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
