"""Time the pages, the export, ingest and the dashboard aggregates against a naive baseline.

    DATA_DIR=/tmp/perf-sqlite python benchmarks/run.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench python benchmarks/run.py

Run benchmarks/generate.py first. Every timing is the server-side time of a request through
Django's test Client (the whole middleware stack, logged in as a superuser), 1 warm-up then
--runs timed runs; the table shows the median and the p95 (nearest rank). Paths that do not
exist yet print "not available". Prints a Markdown table.
"""

import argparse
import html
import math
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")
os.environ["ALLOWED_HOSTS"] = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost") + ",testserver"
# The test Client speaks plain HTTP: without this every page is a 301 to https.
os.environ.setdefault("SECURE_HTTPS", "false")
# The read API's timed runs come from one token far faster than a minute's limit allows: a limit no
# run reaches keeps the per-token count in the timing without timing 429s instead of the answers.
os.environ["READ_API_RATE_LIMIT"] = "1000000000"

from django.conf import settings  # noqa: E402

# Set up as a web process is (gunicorn loads this module): the same start-up, `gc.freeze()` included.
import fastrouter_dash.wsgi  # noqa: E402, F401

# Pages render without `collectstatic` (the manifest storage needs it; its cost is not ours to time).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from compare import (  # noqa: E402 (benchmarks/compare.py)
    BUCKET_RANGES,
    BUCKET_SIZES,
    BUCKET_ZONES,
    DASHBOARD_PAGES,
    bucket_urls,
)
from cost_check import seed_catalogue, whole_range  # noqa: E402 (benchmarks/cost_check.py)
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.db.models.functions import TruncDay  # noqa: E402
from django.test import Client  # noqa: E402
from generate import RARE_WORD  # noqa: E402 (benchmarks/generate.py)

from generations.analytics import dashboard as analytics  # noqa: E402
from generations.analytics.filters import DashboardFilterForm  # noqa: E402
from generations.analytics.models import DailyTagRollup, RollupHistogram  # noqa: E402
from generations.analytics.rollups import (  # noqa: E402
    ROLLUP_TARGETS,
    TAG_TARGETS,
    rollup_percentiles,
    rollup_series_measures,
    rollup_totals,
)
from generations.fastrouter.details import GenerationDetails  # noqa: E402
from generations.ingest import queue  # noqa: E402
from generations.ingest.models import LookupBatch, LookupRequest  # noqa: E402
from generations.ingest.worker import STORE_BATCH, StoreBuffer, WorkerStats  # noqa: E402
from generations.models import Generation  # noqa: E402
from monitoring.models import ReadToken  # noqa: E402
from monitoring.tokens import read_token_create, read_token_revoke  # noqa: E402

Row = tuple[str, str, str, str]  # what, median, p95, note


def timed(action, runs: int) -> list[float]:
    action()  # warm-up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def fmt(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def page(client: Client, what: str, url: str, runs: int, target: str) -> Row:
    response = client.get(url)
    if response.status_code == 404:
        return (what, "not available", "", f"`{url}` 404s on this branch")
    if response.status_code != 200:
        return (what, "error", "", f"`{url}` answered {response.status_code}")
    times = timed(lambda: client.get(url), runs)
    return (what, fmt(statistics.median(times)), fmt(p95(times)), f"`{url}` (target {target})")


def read_token_client() -> Client:
    """A scraper's or script's client: a read token, no session (revoked by the next run)."""
    read_token_revoke(tokens=ReadToken.objects.filter(name="benchmark"))
    _, raw = read_token_create(name="benchmark")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def superuser_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def deep_list_page(client: Client, depth: int) -> str | None:
    """Follow the list's keyset `next` links (rel="next" in the page) `depth` rows deep."""
    url = "/generations/"
    seen = 0
    while seen < depth:
        response = client.get(url)
        if response.status_code != 200:
            return None
        match = re.search(r'href="(\?[^"]*after=[^"]*)" rel="next"', response.content.decode())
        if not match:
            return None
        url = "/generations/" + html.unescape(match.group(1))
        seen += 50
    return url


def text_search_rows(client: Client, runs: int, model: str) -> list[Row]:
    """The list's `?text=` search in the bodies: a word in nearly every body (generate.py's WORDS),
    a word in one body in 1,000 (RARE_WORD), a word in none, with filters and another sort."""
    searches = [
        ("a word in every body", "text=refund"),
        ("a word in every body, 90 days, one model", f"text=refund&range=90d&model={model}"),
        ("a word in every body, sorted by cost", "text=refund&sort=-cost"),
        ("a phrase of two common words, 90 days", "text=%22refund+invoice%22&range=90d"),
        ("a word in 1 body in 1,000, 90 days", f"text={RARE_WORD}&range=90d"),
        ("a word in 1 body in 1,000, 90 days, one model", f"text={RARE_WORD}&range=90d&model={model}"),
        ("a word in no body, 90 days", "text=zyzzyva&range=90d"),
    ]
    rows = [
        page(client, f"generations list, text search: {what}", f"/generations/?{query}", runs, "≤ 300 ms")
        for what, query in searches
    ]
    rows.append(
        page(
            client,
            "admin search by a word in 1 body in 1,000",
            f"/admin/generations/generation/?q={RARE_WORD}",
            runs,
            "≤ 300 ms",
        )
    )
    return rows


def tag_rows(client: Client, runs: int) -> list[Row]:
    """Tag filters and cost by tag (generate.py --add-tags): the commonest and the rarest value of
    the commonest tag name, two tags at once, the chart by another name and with a model filter."""
    names = list(DailyTagRollup.objects.values_list("tag_key").annotate(n=Sum("requests")).order_by("-n"))
    if not names:
        return [("tag filters and cost by tag", "not available", "", "no tags: run generate.py --add-tags")]
    name, other = names[0][0], names[-1][0]
    values = DailyTagRollup.objects.filter(tag_key=name).values_list("tag_value").annotate(n=Sum("requests"))
    (common, common_n), (rare, rare_n) = max(values, key=lambda v: v[1]), min(values, key=lambda v: v[1])
    other_value = DailyTagRollup.objects.filter(tag_key=other).values_list("tag_value", flat=True).first()
    model = Generation.objects.order_by("-occurred_at", "-id").values_list("model", flat=True)[5000]
    pages = [
        ("dashboard 7 d, no tag filter (the yardstick: this run's machine speed)", "range=7d"),
        (f"dashboard 7 d, tag {name}:{common} ({common_n:,} tagged in all)", f"range=7d&tag={name}:{common}"),
        (f"dashboard 30 d, tag {name}:{common}", f"range=30d&tag={name}:{common}"),
        (f"dashboard 90 d, tag {name}:{common}", f"range=90d&tag={name}:{common}"),
        (f"dashboard 90 d, tag {name}:{rare} ({rare_n:,} tagged in all)", f"range=90d&tag={name}:{rare}"),
        (
            f"dashboard 90 d, tags {name}:{rare} and {other}:{other_value}",
            f"range=90d&tag={name}:{rare}&tag={other}:{other_value}",
        ),
        (f"dashboard 7 d, without a {name} tag (!{name})", f"range=7d&tag=!{name}"),
        (f"dashboard 90 d, cost by tag {other} (rollups)", f"range=90d&tag_key={other}"),
        ("dashboard 90 d, one model (cost by tag from raw rows)", f"range=90d&model={model}"),
    ]
    rows = [page(client, f"tags: {what}", f"/dashboard/?{query}", runs, "≤ 1 s") for what, query in pages]
    rows.append(
        page(client, "tags: cost-by-tag CSV, 90 d", "/dashboard/table/cost-by-tag.csv?range=90d", runs, "≤ 100 ms")
    )
    rows.append(
        page(
            client,
            f"tags: generations list, tag {name}:{common}, 90 d",
            f"/generations/?range=90d&tag={name}:{common}",
            runs,
            "≤ 1 s",
        )
    )
    return rows


def export_row(runs: int) -> Row:
    import psutil

    began = time.perf_counter()
    worker = [sys.executable, str(ROOT / "benchmarks" / "export_worker.py")]
    process = subprocess.Popen(worker, stdout=subprocess.PIPE, env=os.environ.copy())  # noqa: S603 (our own script)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - began
    output = process.stdout.read().decode().strip()
    if not output or output.startswith("-"):
        status = output[1:] or "nothing"
        return ("CSV export of every row", "not available", "", f"`/generations/export.csv` answered {status}")
    return (
        "CSV export of every row",
        f"{elapsed:,.1f} s",
        "",
        f"{int(output):,} lines, peak RSS {peak / 2**20:,.0f} MB (target ≤ 150 MB), one run",
    )


def _bench_items(kind: str, count: int, models: tuple[str, ...] = ()) -> tuple[str, list]:
    """`count` fresh (id, details) pairs from the documented sample payload, in the last 10 minutes."""
    from tests.factories import full_payload

    stamp = datetime.now(UTC)
    prefix = f"bench-{kind}-{stamp:%Y%m%d%H%M%S}-"
    items = []
    for n in range(count):
        overrides = {"model": models[n % len(models)]} if models else {}
        payload = full_payload(
            f"{prefix}{n}",
            query_time=(stamp - timedelta(seconds=n % 600)).isoformat().replace("+00:00", "Z"),
            **overrides,
        )
        items.append((payload["id"], GenerationDetails.from_payload(payload)))
    return prefix, items


def _remove_bench_rows(prefix: str) -> None:
    from tests.factories import delete_generations

    delete_generations(Generation.objects.filter(generation_id__startswith=prefix))


def _worker_store(items: list, *, refresh: bool) -> float:
    """Store `items` as the fetch worker does (claimed queue rows through its StoreBuffer, which
    stores them in batches); returns generations per second. Only the HTTP fetch is left out."""
    batch = queue.generation_enqueue(ids=[gid for gid, _ in items], source=LookupBatch.Source.CLI, refresh=refresh)
    claimed = {}
    while len(claimed) < len(items):
        claimed.update((r.generation_id, r) for r in queue.lookup_claim(worker="benchmark", limit=len(items)))
    buffer = StoreBuffer(WorkerStats())
    began = time.perf_counter()
    for generation_id, details in items:
        buffer.add(claimed[generation_id], details)
    buffer.flush()
    rate = len(items) / (time.perf_counter() - began)
    assert buffer.stats.stored == len(items), buffer.stats
    LookupRequest.objects.filter(batch=batch).delete()
    batch.delete()
    return rate


def ingest_row(count: int) -> Row:
    models = ("openai/gpt-4o-mini", "anthropic/claude-sonnet-4", "google/gemini-2.0-flash")
    prefix, items = _bench_items("ingest", count, models)
    rate = _worker_store(items, refresh=False)
    # Refreshing the same ids (upserts of existing rows) is the other half of the worker's job.
    refresh_rate = _worker_store(items, refresh=True)
    _remove_bench_rows(prefix)
    return (
        f"ingest: the fetch worker's store path (StoreBuffer, batches of up to {STORE_BATCH:,})",
        f"{rate:,.0f} /s new",
        f"{refresh_rate:,.0f} /s refresh",
        f"{count:,} generations with 2 KB bodies and their queue rows, rollups recomputed in the same "
        "transaction (target ≥ 5,000/s)",
    )


def naive_aggregates(start: datetime, end: datetime, zone: ZoneInfo, filters: dict) -> None:
    """What a dashboard without rollups does: GROUP BY over raw rows, percentiles from values."""
    raw = Generation.objects.filter(occurred_at__gte=start, occurred_at__lt=end, **filters)
    sums = {"n": Count("id"), "cost": Sum("cost_pico"), "tokens_in": Sum("input_tokens")}
    for dimension in ("model", "provider", "api_key_hash"):
        list(raw.values(dimension).annotate(**sums).order_by())
    series_start = end - timedelta(days=30)
    list(
        raw.filter(occurred_at__gte=series_start)
        .annotate(day=TruncDay("occurred_at", tzinfo=zone))
        .values("day", "provider")
        .annotate(**sums)
        .order_by()
    )
    latencies: dict[str, list[float]] = {}
    for model, latency in raw.exclude(latency_ms=None).values_list("model", "latency_ms").iterator(chunk_size=20_000):
        latencies.setdefault(model, []).append(latency)
    for values in latencies.values():
        values.sort()
        values[max(1, math.ceil(0.95 * len(values))) - 1]


def rollup_aggregates(start: datetime, end: datetime, zone: ZoneInfo, filters: dict) -> None:
    for dimension in ("model", "provider", "api_key_hash"):
        rollup_totals(start, end, filters, (dimension,))
    rollup_series_measures(end - timedelta(days=30), end, zone, "day", filters, ("provider",))
    rollup_percentiles(start, end, filters, ("model",), "latency", (0.95,))


def aggregate_rows(runs: int, model: str, key: str) -> list[Row]:
    end = datetime.now(UTC)
    rows = []
    for days, zone_name, filters in (
        (30, "UTC", {}),
        (90, "UTC", {}),
        (90, "UTC", {"model": model}),
        (90, "UTC", {"api_key_hash": key}),
        (90, "Asia/Tokyo", {}),
        (90, "Asia/Kolkata", {}),
    ):
        zone = ZoneInfo(zone_name)
        # Dashboard ranges end at the next local midnight, as a "last N days" picker does.
        local_end = (end.astimezone(zone) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        stop = local_end.astimezone(UTC)
        begin = stop - timedelta(days=days)
        ours = timed(lambda b=begin, s=stop, z=zone, f=filters: rollup_aggregates(b, s, z, f), runs)
        naive = timed(lambda b=begin, s=stop, z=zone, f=filters: naive_aggregates(b, s, z, f), max(3, runs // 2))
        ratio = statistics.median(naive) / statistics.median(ours)
        rows.append(
            (
                f"dashboard aggregates, {days} d, {zone_name}{', ' + next(iter(filters)) if filters else ''}: rollups",
                fmt(statistics.median(ours)),
                fmt(p95(ours)),
                f"naive baseline {fmt(statistics.median(naive))} → **{ratio:,.0f}× faster** (target ≥ 20×)",
            )
        )
    check_p95(end)
    return rows


def dashboard_ratio_rows(runs: int) -> list[Row]:
    """The real dashboard (every figure and chart) from rollups vs the same from raw rows only."""
    rows = []
    for query in ({"range": "30d"}, {"range": "90d"}, {"range": "90d", "tz": "Asia/Kolkata"}):
        form = DashboardFilterForm(query, default_zone="UTC")
        assert form.is_valid(), form.errors
        filters = form.filters()
        ours = timed(lambda f=filters: analytics.dashboard(f), runs)
        naive = timed(lambda f=filters: analytics.dashboard(f, raw=True), 2)
        ratio = statistics.median(naive) / statistics.median(ours)
        rows.append(
            (
                f"analytics.dashboard {query}: rollups",
                fmt(statistics.median(ours)),
                fmt(p95(ours)),
                f"same from raw rows (`raw=True`) {fmt(statistics.median(naive))} → **{ratio:,.0f}× faster** "
                "(target ≥ 20×)",
            )
        )
    return rows


def check_p95(end: datetime) -> None:
    """Sanity: rollup p95 per model within 5 % of the exact value (printed, not a row)."""
    start = end - timedelta(days=30)
    exact: dict[str, list[float]] = {}
    raw = Generation.objects.filter(occurred_at__gte=start, occurred_at__lt=end).exclude(latency_ms=None)
    for model, latency in raw.values_list("model", "latency_ms").iterator(chunk_size=20_000):
        exact.setdefault(model, []).append(latency)
    worst = 0.0
    for (model,), (value,) in rollup_percentiles(start, end, {}, ("model",), "latency", (0.95,)).items():
        values = sorted(exact[model])
        truth = values[max(1, math.ceil(0.95 * len(values))) - 1]
        worst = max(worst, abs(value - truth) / truth)
    print(f"Largest relative error of a rollup p95 latency per model over 30 d: {worst:.2%}", file=sys.stderr)


def bucket_zone_table(client: Client, runs: int) -> list[str]:
    """Every bucket × range × zone the filter form offers (compare.bucket_urls): the page and the
    costliest chart CSV (cost over time, the only one that depends on the bucket), medians."""
    planned = bucket_urls(datetime.now(UTC).date())
    lines = [
        "| range | bucket | " + " | ".join(BUCKET_ZONES) + " |",
        "|---|---|" + "---:|" * len(BUCKET_ZONES),
    ]
    worst = 0.0
    for range_name in BUCKET_RANGES:
        for bucket in BUCKET_SIZES:
            cells = []
            for zone in BUCKET_ZONES:
                medians = []
                for url in planned[(range_name, bucket, zone)]:
                    status = client.get(url).status_code
                    if status != 200:
                        raise SystemExit(f"{url} answered {status}")
                    medians.append(statistics.median(timed(lambda u=url: client.get(u), runs)))
                worst = max(worst, *medians)
                cells.append(" / ".join(f"{m:,.0f}" for m in medians))
            lines.append(f"| {range_name} | {bucket} | " + " | ".join(cells) + " |")
    lines.append(f"\nms, page / cost-over-time CSV, median of {runs}; slowest {worst:,.0f} ms (target ≤ 300 ms).")
    return lines


def pricing_rows(client: Client, runs: int) -> list[Row]:
    """The Cost check over every stored generation (a catalogue with a price change halfway through
    the history is recorded first when none is stored: benchmarks/cost_check.py), its drill-down list
    and the What-if."""
    seed_catalogue()
    everything = urlencode(whole_range())
    return [
        page(client, "cost check, all stored", f"/cost-check/?{everything}", runs, "≤ 300 ms"),
        page(client, "over-tolerance list, all stored", f"/cost-check/over-tolerance/?{everything}", runs, "≤ 300 ms"),
        page(client, "what-if, all stored", f"/what-if/?{everything}&model_to=openai/gpt-4o-mini", runs, "≤ 300 ms"),
    ]


def monitoring_rows(runs: int) -> list[Row]:
    """The Prometheus scrape and the read API's summary, with a read token."""
    reader = read_token_client()
    return [
        page(reader, "/metrics (Prometheus scrape, all stored data)", "/metrics", runs, "≤ 100 ms"),
        page(reader, "/api/v1/summary, last 7 days", "/api/v1/summary", runs, "≤ 100 ms"),
        page(reader, "/api/v1/summary, 90 days", "/api/v1/summary?range=90d", runs, "≤ 100 ms"),
    ]


def print_rows(rows: list[Row], total: int, runs: int) -> None:
    print(f"\n{connection.vendor}, {total:,} generations, {runs} runs after 1 warm-up\n")
    print("| what | median | p95 | notes |")
    print("|---|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def rollup_rows() -> list[str]:
    """Rows stored per rollup table (docs/rollup-grains.md weighs them against page times)."""
    lines = ["| rollup table | rows |", "|---|---:|"]
    for table in (*(table for table, _, _ in (*ROLLUP_TARGETS.values(), *TAG_TARGETS.values())), RollupHistogram):
        lines.append(f"| {table._meta.db_table} | {table.objects.count():,} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--ingest", type=int, default=5000)
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--aggregates", action="store_true", help="also time the rollup read API alone")
    parser.add_argument("--buckets-only", action="store_true", help="only the bucket × range × zone table")
    parser.add_argument("--text-only", action="store_true", help="only the text-search rows")
    parser.add_argument("--pricing-only", action="store_true", help="only the Cost check and What-if rows")
    parser.add_argument("--tags-only", action="store_true", help="only the tag filter and cost-by-tag rows")
    parser.add_argument("--monitoring-only", action="store_true", help="only the /metrics and read API rows")
    args = parser.parse_args()

    total = Generation.objects.count()
    print(f"{connection.vendor}, {total:,} generations", file=sys.stderr)
    client = superuser_client()
    if args.pricing_only:
        print_rows(pricing_rows(client, args.runs), total, args.runs)
        return
    if args.monitoring_only:
        print_rows(monitoring_rows(args.runs), total, args.runs)
        return
    if args.tags_only:
        print_rows(tag_rows(client, args.runs), total, args.runs)
        print("\n".join(rollup_rows()))
        return
    if args.text_only:
        sample = Generation.objects.order_by("-occurred_at", "-id")[5000]
        print_rows(text_search_rows(client, args.runs, sample.model), total, args.runs)
        return
    buckets = [*bucket_zone_table(client, args.runs), "", *rollup_rows()]
    if args.buckets_only:
        print("\n".join(buckets))
        return
    sample = Generation.objects.order_by("-occurred_at", "-id")[5000]
    model = sample.model
    key = sample.api_key_hash
    rows: list[Row] = []
    for label, url in DASHBOARD_PAGES.items():
        rows.append(page(client, label, url.format(model=model, key=key), args.runs, "≤ 100 ms"))
    rows.append(page(client, "generations list, first page", "/generations/", args.runs, "≤ 100 ms"))
    rows.append(page(client, "generations list, one model", f"/generations/?model={model}", args.runs, "≤ 100 ms"))
    deep = deep_list_page(client, 10_000)
    if deep:
        rows.append(page(client, "generations list, 10,000 rows deep", deep, args.runs, "≤ 100 ms"))
    else:
        rows.append(("generations list, 10,000 rows deep", "not available", "", "no keyset `next` link to follow"))
    rows += text_search_rows(client, args.runs, model)
    rows += tag_rows(client, args.runs)
    rows.append(page(client, "admin changelist", "/admin/generations/generation/", args.runs, "≤ 300 ms"))
    rows.append(
        page(client, "admin search by model name", f"/admin/generations/generation/?q={model}", args.runs, "≤ 300 ms")
    )
    rows.append(
        page(
            client,
            "admin changelist, one day (time filter)",
            "/admin/generations/generation/?"
            + urlencode(
                {
                    "occurred_at__gte": sample.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0),
                    "occurred_at__lt": sample.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
                    + timedelta(days=1),
                }
            ),
            args.runs,
            "≤ 300 ms",
        )
    )
    rows.append(page(client, "detail page", f"/generations/{sample.generation_id}/", args.runs, "≤ 50 ms"))
    rows += monitoring_rows(args.runs)
    rows.append(page(client, "admin detail page", f"/admin/generations/generation/{sample.pk}/change/", args.runs, "—"))
    rows += pricing_rows(client, args.runs)
    if args.aggregates:
        rows += aggregate_rows(args.runs, model, key)
    rows += dashboard_ratio_rows(args.runs)
    rows.append(ingest_row(args.ingest))
    if not args.skip_export:
        rows.append(export_row(args.runs))

    print_rows(rows, total, args.runs)
    print("\nEvery bucket, range and zone the filter form offers:\n")
    print("\n".join(buckets))


if __name__ == "__main__":
    main()
