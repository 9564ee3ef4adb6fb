"""Time the cost check (pricing/selectors.cost_check: rollup sums per model and price period), its
drill-down list at its worst (nothing flagged: a whole window read) and the what-if.

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
from django.test import override_settings  # noqa: E402

from generations.analytics.filters import DashboardFilterForm  # noqa: E402
from generations.fastrouter.catalogue import Catalogue  # noqa: E402
from generations.models import Generation  # noqa: E402
from pricing.models import CatalogueSync  # noqa: E402
from pricing.selectors import FLAGGED_SCAN, cost_check, flagged_page, what_if  # noqa: E402
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


def whole_range(days: int | None = None) -> dict[str, str]:
    """The filter parameters of every stored generation's days (or the last `days` of them)."""
    last = Generation.objects.aggregate(last=Max("occurred_at"))["last"] + timedelta(days=1)
    first = last - timedelta(days=days) if days else Generation.objects.aggregate(first=Min("occurred_at"))["first"]
    return {"range": "custom", "start": f"{first:%Y-%m-%d}", "end": f"{last:%Y-%m-%d}", "tz": "UTC"}


def main() -> None:
    seed_catalogue()
    whole, week = whole_range(), whole_range(7)
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
        # The worst case of the lists of generations over the tolerance: nothing over 10⁶ %, so each
        # reads its whole window.
        with override_settings(COST_CHECK_TOLERANCE_PERCENT=1_000_000):
            worst_check = median_ms(lambda f=filters: cost_check(f))
            worst_list = median_ms(lambda f=filters: flagged_page(f, None))
        print(f"| cost check, nothing flagged, {name} | {count:,} | {worst_check:,.0f} ms |")
        print(f"| over-tolerance list, nothing flagged, {name} | {FLAGGED_SCAN:,} read | {worst_list:,.0f} ms |")


if __name__ == "__main__":
    main()
