"""Time the dashboard pages with two checkouts of this project on the same data, in one run.

    git worktree add /tmp/before 45b1021
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench SECRET_KEY=x \\
        .venv/bin/python benchmarks/compare.py /tmp/before .

Each checkout times every page in its own process (1 warm-up, --runs timed runs); the two take
turns --rounds times, so a noisy machine slows both alike. When the change alters the schema,
give the before checkout a copy of the data at its own migration with --before-env, e.g.
`--before-env DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench_before`. Prints a Markdown table of medians and
the ratio before ÷ after. The detail page is a yardstick for how fast the machine is right now.

`--buckets`: instead, every bucket × range × zone of `run.py`'s table (the page and its
cost-over-time CSV), the two checkouts taking turns request by request (1 warm-up each, then
--runs timed requests per side), printed as that table with "before → after" in each cell.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Also timed by benchmarks/run.py: {model} and {key} are those of a recent generation.
DASHBOARD_PAGES = {
    "dashboard 30 d": "/dashboard/?range=30d",
    "dashboard 90 d": "/dashboard/?range=90d",
    "dashboard 90 d, one model": "/dashboard/?range=90d&model={model}",
    "dashboard 90 d, one key": "/dashboard/?range=90d&key={key}",
    "dashboard 90 d, Asia/Tokyo": "/dashboard/?range=90d&tz=Asia/Tokyo",
    "dashboard 30 d, Asia/Kolkata": "/dashboard/?range=30d&tz=Asia/Kolkata",
    "dashboard 90 d, Asia/Kolkata": "/dashboard/?range=90d&tz=Asia/Kolkata",
    "dashboard 90 d, Asia/Kolkata, one model": "/dashboard/?range=90d&tz=Asia/Kolkata&model={model}",
}
PAGES = {**DASHBOARD_PAGES, "detail page (yardstick)": "/generations/{generation_id}/"}
# The bucket × range × zone table (benchmarks/run.py --buckets-only and compare.py --buckets).
BUCKET_ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu")
BUCKET_RANGES = ("7d", "30d", "90d", "custom90")
BUCKET_SIZES = ("hour", "day", "week", "month")


def bucket_urls(today: date) -> dict[tuple[str, str, str], tuple[str, str]]:
    """{(range, bucket, zone): (page URL, cost-over-time CSV URL)}. "custom90" is the custom range
    of the last 90 local days (starts at a local midnight, unlike the whole-hour presets)."""
    urls = {}
    for range_name in BUCKET_RANGES:
        for bucket in BUCKET_SIZES:
            for zone in BUCKET_ZONES:
                if range_name == "custom90":
                    query = f"range=custom&start={today - timedelta(days=89)}&end={today}"
                else:
                    query = f"range={range_name}"
                query += f"&bucket={bucket}&tz={zone}"
                urls[(range_name, bucket, zone)] = (
                    f"/dashboard/?{query}",
                    f"/dashboard/table/cost-over-time.csv?{query}",
                )
    return urls


def _client():
    """A logged-in superuser's test Client, in a child process whose working directory is the
    checkout to time."""
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("SECURE_HTTPS", "false")
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def time_pages(runs: int) -> dict[str, list[float]]:
    """In a child process whose working directory is the checkout to time."""
    import time

    client = _client()
    from generations.models import Generation

    sample = Generation.objects.order_by("-occurred_at", "-id")[5000]
    values = {"model": sample.model, "key": sample.api_key_hash, "generation_id": sample.generation_id}
    times = {}
    for name, url in PAGES.items():
        url = url.format(**values)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times[name] = []
        for _ in range(runs):
            began = time.perf_counter()
            client.get(url)
            times[name].append((time.perf_counter() - began) * 1000)
    return times


def serve() -> None:
    """Child of --buckets: for each URL read from stdin, answer one line of JSON with the server
    time of one request, the CPU time this process spent on it (ms; with SQLite, the queries too)
    and its status."""
    import time

    client = _client()
    print("ready", flush=True)
    for line in sys.stdin:
        began, cpu = time.perf_counter(), time.process_time()
        status = client.get(line.strip()).status_code
        print(
            json.dumps([(time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000, status]), flush=True
        )


def compare_buckets(sides: dict[str, subprocess.Popen], runs: int) -> None:
    """The bucket table, the two sides taking turns request by request."""

    def ask(side: str, url: str) -> tuple[float, float]:
        sides[side].stdin.write(url + "\n")
        sides[side].stdin.flush()
        elapsed, cpu, status = json.loads(sides[side].stdout.readline())
        if status != 200:
            raise SystemExit(f"{side}: {url} answered {status}")
        return elapsed, cpu

    for process in sides.values():
        while (line := process.stdout.readline()).strip() != "ready":  # anything Django printed first
            if not line:
                raise SystemExit("a checkout's child process did not start")
    medians, cpu_ratios = {}, []
    planned = bucket_urls(datetime.now(UTC).date())
    for key, urls in planned.items():
        for url in urls:
            times = {side: [] for side in sides}
            for run in range(runs + 1):
                for side in sides:
                    measured = ask(side, url)
                    if run:  # the first is a warm-up
                        times[side].append(measured)
            medians[(*key, url)] = {side: statistics.median(t for t, _ in found) for side, found in times.items()}
            cpu = {side: statistics.median(c for _, c in found) for side, found in times.items()}
            cpu_ratios.append(cpu["after"] / cpu["before"])
    ratios = sorted(m["after"] / m["before"] for m in medians.values())
    print("| range | bucket | " + " | ".join(BUCKET_ZONES) + " |")
    print("|---|---|" + "---:|" * len(BUCKET_ZONES))
    for range_name in BUCKET_RANGES:
        for bucket in BUCKET_SIZES:
            cells = []
            for zone in BUCKET_ZONES:
                pair = [medians[(range_name, bucket, zone, url)] for url in planned[(range_name, bucket, zone)]]
                cells.append(" / ".join(f"{m['before']:,.0f} → {m['after']:,.0f}" for m in pair))
            print(f"| {range_name} | {bucket} | " + " | ".join(cells) + " |")
    slowest = {side: max(m[side] for m in medians.values()) for side in sides}
    print(
        f"\nms, page / cost-over-time CSV, median of {runs} per side, requests alternated; "
        f"median after/before {statistics.median(ratios):.2f}; slowest before {slowest['before']:,.0f} ms, "
        f"after {slowest['after']:,.0f} ms; worst ratio {ratios[-1]:.2f}, best {ratios[0]:.2f}; "
        f"CPU time of the web process (less disturbed by a busy machine): median after/before "
        f"{statistics.median(cpu_ratios):.2f}, worst {max(cpu_ratios):.2f}, best {min(cpu_ratios):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--before-env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable for before"
    )
    parser.add_argument("--buckets", action="store_true", help="the bucket × range × zone table, requests alternated")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(time_pages(args.runs)))
        return
    if args.serve:
        serve()
        return
    collected: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    environments = {"before": {**os.environ, **dict(pair.split("=", 1) for pair in args.before_env)}, "after": None}
    if args.buckets:
        command = [sys.executable, str(Path(__file__).resolve()), ".", ".", "--serve"]
        sides = {
            side: subprocess.Popen(  # noqa: S603
                command,
                cwd=getattr(args, side).resolve(),
                env=environments[side],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for side in ("before", "after")
        }
        try:
            compare_buckets(sides, args.runs)
        finally:
            for process in sides.values():
                process.stdin.close()
                process.wait()
        return
    for _ in range(args.rounds):
        for side in ("before", "after"):
            root = getattr(args, side).resolve()
            command = [sys.executable, str(Path(__file__).resolve()), ".", ".", "--child", "--runs", str(args.runs)]
            output = subprocess.run(  # noqa: S603
                command, cwd=root, env=environments[side], check=True, capture_output=True, text=True
            ).stdout
            for name, times in json.loads(output.strip().splitlines()[-1]).items():
                collected[side].setdefault(name, []).extend(times)
    print(f"\nbefore: {args.before}, after: {args.after}, {args.rounds} rounds × {args.runs} runs\n")
    print("| page | before (median) | after (median) | before ÷ after |")
    print("|---|---:|---:|---:|")
    for name in PAGES:
        before = statistics.median(collected["before"][name])
        after = statistics.median(collected["after"][name])
        print(f"| {name} | {before:,.1f} ms | {after:,.1f} ms | {before / after:.1f}× |")


if __name__ == "__main__":
    main()
