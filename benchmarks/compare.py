"""Time the dashboard pages with two checkouts of this project on the same data, in one run.

    git worktree add /tmp/before 45b1021
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench SECRET_KEY=x \\
        .venv/bin/python benchmarks/compare.py /tmp/before .

Each checkout times every page in its own process (1 warm-up, --runs timed runs); the two take
turns --rounds times, so a noisy machine slows both alike. When the change alters the schema,
give the before checkout a copy of the data at its own migration with --before-env, e.g.
`--before-env DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench_before`. Prints a Markdown table of medians and
the ratio before ÷ after. The detail page is a yardstick for how fast the machine is right now.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
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


def time_pages(runs: int) -> dict[str, list[float]]:
    """In a child process whose working directory is the checkout to time."""
    import time

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

    from generations.models import Generation

    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--before-env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable for before"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(time_pages(args.runs)))
        return
    collected: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    environments = {"before": {**os.environ, **dict(pair.split("=", 1) for pair in args.before_env)}, "after": None}
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
