"""How fast the dashboard and the generation list stay on a big table.

    DEBUG=true python benchmarks/dashboard_queries.py --rows 1000000 [--database-url postgres://…]

Fills a scratch database (a temporary SQLite file unless --database-url is given) with
synthetic generations over the last 80 days, then times: the dashboard selector for 24 h /
30 d / 90 d, the first list page, a list page ~90 % deep (keyset cursor), and streaming 100 000
export rows. Prints one line per measurement.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="dash-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from generations import analytics
    from generations.filters import DashboardFilterForm, GenerationListFilterForm, ListCursor
    from generations.histograms import bin_index
    from generations.models import Generation

    call_command("migrate", verbosity=0)
    Generation.objects.all().delete()
    now = timezone.now()
    models = [(f"vendor{m % 7}/model-{m}", f"vendor{m % 7}") for m in range(14)]
    rng = random.Random(7)
    started = time.perf_counter()
    batch = []
    for number in range(args.rows):
        model, provider = models[number % len(models)]
        latency = rng.lognormvariate(7, 0.8)
        output = rng.randint(1, 2000)
        batch.append(
            Generation(
                generation_id=f"bench-{number:08d}",
                model=model,
                provider=provider,
                api_key_hash=f"sha256:key-{number % 23}",
                endpoint="/v1/chat/completions",
                is_byok=number % 9 == 0,
                cost_pico=None if number % 101 == 0 else rng.randint(10**6, 10**10),
                credits_used_pico=rng.randint(10**6, 10**10),
                input_tokens=rng.randint(1, 4000),
                output_tokens=output,
                latency_ms=latency,
                output_tokens_per_second=output / latency * 1000,
                latency_bin=bin_index(latency),
                throughput_bin=bin_index(output / latency * 1000),
                occurred_at=now - timedelta(seconds=rng.uniform(0, 80 * 86400)),
                fetched_at=now,
            )
        )
        if len(batch) == 20_000:
            Generation.objects.bulk_create(batch)
            batch = []
    Generation.objects.bulk_create(batch)
    print(f"inserted {args.rows:,} rows in {time.perf_counter() - started:.1f} s")

    def timed(label: str, action) -> object:
        begin = time.perf_counter()
        result = action()
        print(f"{label}: {(time.perf_counter() - begin) * 1000:,.0f} ms")
        return result

    for range_ in ("24h", "30d", "90d"):
        form = DashboardFilterForm({"range": range_}, default_zone="Europe/Berlin")
        assert form.is_valid(), form.errors
        timed(f"dashboard {range_}", lambda form=form: analytics.dashboard(form.filters()))

    form = GenerationListFilterForm({"range": "90d"}, default_zone="UTC")
    assert form.is_valid()
    filters = form.filters()
    timed("list first page", lambda: analytics.generation_page(filters))
    deep = Generation.objects.order_by("-occurred_at", "-id").values_list("occurred_at", "id")[int(args.rows * 0.9)]
    cursor = ListCursor(deep[0].isoformat(), deep[1])
    page = timed("list page at 90 % depth (keyset)", lambda: analytics.generation_page(filters, cursor))
    assert page.rows, "the deep page is empty"
    rows = analytics.generation_export_rows(filters)
    timed("export first 100,000 rows", lambda: sum(1 for _, _row in zip(range(100_000), rows, strict=False)))


if __name__ == "__main__":
    main()
