"""Time the cost check (pricing/selectors.cost_check: its one grouped query) and the what-if.

    DATA_DIR=/tmp/perf-copy python benchmarks/cost_check.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench python benchmarks/cost_check.py

Run benchmarks/generate.py first, on a copy you may migrate. When no catalogue is stored, records one
for every stored model, with a price change halfway through the stored history (so the query has
two price periods per model), seen at the history's start and at the change. Prints medians.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Max, Min  # noqa: E402

from generations.analytics.filters import DashboardFilterForm  # noqa: E402
from generations.fastrouter.catalogue import Catalogue  # noqa: E402
from generations.models import Generation  # noqa: E402
from pricing.models import CatalogueSync  # noqa: E402
from pricing.selectors import cost_check, what_if  # noqa: E402
from pricing.services import pricing_record  # noqa: E402

RUNS = 5


def seed_catalogue() -> None:
    if CatalogueSync.objects.exists():
        return
    bounds = Generation.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    models = sorted(Generation.objects.values_list("model", flat=True).distinct())
    middle = bounds["first"] + (bounds["last"] - bounds["first"]) / 2
    for seen_at, factor in ((bounds["first"], 1), (middle, Decimal("0.8"))):
        entries = [
            {
                "id": model,
                "context_length": 128_000,
                "pricing": {
                    "prompt": str(Decimal("0.000001") * factor),
                    "completion": str(Decimal("0.000004") * factor),
                },
            }
            for model in models
        ]
        pricing_record(catalogue=Catalogue.from_payload({"data": entries}), seen_at=seen_at)


def median_ms(action) -> float:
    action()
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    seed_catalogue()
    last = Generation.objects.aggregate(last=Max("occurred_at"))["last"] + timedelta(days=1)
    first = Generation.objects.aggregate(first=Min("occurred_at"))["first"]
    whole = {"range": "custom", "start": f"{first:%Y-%m-%d}", "end": f"{last:%Y-%m-%d}", "tz": "UTC"}
    week = {"range": "custom", "start": f"{last - timedelta(days=7):%Y-%m-%d}", "end": f"{last:%Y-%m-%d}", "tz": "UTC"}
    print("| what | generations | median |")
    print("|---|---|---|")
    for name, params in (("all stored", whole), ("last 7 days", week)):
        form = DashboardFilterForm(params, default_zone="UTC")
        assert form.is_valid(), form.errors
        filters = form.filters()
        check = cost_check(filters)
        count = check.platform.checked + check.byok.checked + check.unchecked.total + check.byok_unchecked.total
        print(f"| cost check, {name} | {count:,} | {median_ms(lambda f=filters: cost_check(f)):,.0f} ms |")
        print(
            f"| what-if, {name} | {count:,} | {median_ms(lambda f=filters: what_if(f, 'openai/gpt-4o-mini')):,.0f} ms |"
        )


if __name__ == "__main__":
    main()
