"""Monitoring's ONE door into the analytics selector layer.

Every figure /metrics and the read API serve comes through here, from the same selectors as the
dashboard, the list and the CSV, so the two can never disagree with the pages. The analytics engine
is being reworked: a renamed selector touches this file alone.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from generations.analytics.filters import DashboardFilterForm, DashboardFilters, GenerationListFilterForm
from generations.analytics.histograms import BIN_RATIO, percentiles
from generations.analytics.listing import GenerationPage, generation_page
from generations.analytics.queries import (
    Source,
    Totals,
    bin_counts_by,
    key_labels,
    series_by,
    source_of,
    sum_totals,
    totals_by,
)
from generations.models import Generation
from generations.selectors import generation_detail

# Re-exported for the rest of monitoring, which never imports analytics itself.
__all__ = [
    "BIN_RATIO",
    "DashboardFilterForm",
    "DashboardFilters",
    "GenerationListFilterForm",
    "GenerationPage",
    "Totals",
    "all_time_bins",
    "all_time_totals",
    "generation_detail",
    "generation_page",
    "key_labels",
    "sum_totals",
]

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class StoredRange:
    start: datetime
    end: datetime


def _stored_range() -> StoredRange | None:
    """Every stored generation, widened to whole UTC hours: the rollups answer whole hours without raw rows."""
    # Two index seeks: one MIN()+MAX() aggregate scans the index in SQLite (90 ms at 1M rows).
    times = Generation.objects.values_list("occurred_at", flat=True)
    first, last = times.order_by("occurred_at").first(), times.order_by("-occurred_at").first()
    if first is None:
        return None
    start = first.replace(minute=0, second=0, microsecond=0)
    end = last.replace(minute=0, second=0, microsecond=0) + HOUR
    return StoredRange(start, end)


def _all_time() -> Source | None:
    stored = _stored_range()
    return Source(stored.start, stored.end, {}) if stored else None


def all_time_totals(group_by: list[str]) -> dict[tuple, Totals]:
    """Totals since the first stored generation, per `group_by` values (from the rollups)."""
    source = _all_time()
    return totals_by(source, group_by) if source else {}


def all_time_bins(group_by: list[str], kinds: tuple[str, ...]) -> dict[str, dict[tuple, dict[int, int]]]:
    """{kind: {group: {bin index: count}}} since the first stored generation; bin i holds
    values in [BIN_RATIO**i, BIN_RATIO**(i + 1))."""
    source = _all_time()
    return bin_counts_by(source, group_by, kinds) if source else {kind: {} for kind in kinds}


# ---- the read API: the dashboard's selection, the dashboard's selectors -------------------------


def selection_totals(filters: DashboardFilters) -> Totals:
    return totals_by(source_of(filters), [])[()]


def selection_latency_percentiles(filters: DashboardFilters, fractions: tuple[float, ...]) -> list[float | None]:
    """Latency (ms) at each fraction, from the same bin counts as the dashboard's percentile charts."""
    counts = bin_counts_by(source_of(filters), [], ("latency",))["latency"].get((), {})
    return percentiles(counts, fractions)


def selection_totals_by(filters: DashboardFilters, column: str) -> dict[object, Totals]:
    """{column value: Totals} for a Generation column (model, provider, endpoint, api_key_hash, is_byok)."""
    return {group[0]: totals for group, totals in totals_by(source_of(filters), [column]).items()}


def selection_series(filters: DashboardFilters) -> dict[tuple, Totals]:
    """{(UTC bucket start, split value): Totals} in the selection's buckets, split as the page splits."""
    sums = series_by(source_of(filters), filters.bucket, filters.zone, [filters.split])
    return {group: Totals(*values) for group, values in sums.items()}
