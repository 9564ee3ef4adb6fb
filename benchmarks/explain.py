"""Print the query plans of the raw-row and rollup queries the pages run (docs/design.md, "Raw-row queries").

DATA_DIR=/tmp/perf-sqlite python benchmarks/explain.py
DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench python benchmarks/explain.py
"""

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402

from generations.analytics.models import DailyKeyRollup, DailyRollup, HourlyRollup  # noqa: E402
from generations.models import Generation  # noqa: E402


def main() -> None:
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    sample = Generation.objects.order_by("-occurred_at", "-id")[5000]
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=89)
    queries = {
        "admin changelist page (ORDER BY -occurred_at, -id LIMIT 51)": Generation.objects.order_by(
            "-occurred_at", "-id"
        )[:51],
        "admin capped count, search by model": Generation.objects.filter(model__icontains=sample.model)
        .order_by()
        .values("id")[:10_000],
        "admin date-hierarchy probe (first row of a month)": Generation.objects.filter(
            occurred_at__gte=end - timedelta(days=30), occurred_at__lt=end
        ).order_by("occurred_at")[:1],
        "raw partial hour by model (rollup edge piece)": Generation.objects.filter(
            occurred_at__gte=end, occurred_at__lt=end + timedelta(minutes=30)
        )
        .values("model")
        .annotate(n=Count("id"), cost=Sum("cost_pico")),
        "daily rollup totals by model, 89 days": DailyRollup.objects.filter(
            bucket_start__gte=start, bucket_start__lt=end
        )
        .values("model")
        .annotate(n=Sum("requests")),
        "daily key rollup, one key, 89 days": DailyKeyRollup.objects.filter(
            api_key_hash=sample.api_key_hash, bucket_start__gte=start, bucket_start__lt=end
        )
        .values("model")
        .annotate(n=Sum("requests")),
        "hourly rollup series by provider, 30 days": HourlyRollup.objects.filter(
            bucket_start__gte=end - timedelta(days=30), bucket_start__lt=end
        )
        .values("bucket_start", "provider")
        .annotate(n=Sum("requests")),
    }
    for label, queryset in queries.items():
        print(f"\n#### {label}\n```\n{queryset.explain(**options)}\n```")


if __name__ == "__main__":
    main()
