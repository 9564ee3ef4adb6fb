"""What budgets know of spend: the budgets' only read of the analytics layer.

A budget's scope per local day (`daily_spend`), each model's or key's per local day (`daily_spend_by`,
for anomalies), and totals by model or key over a range (`totals_per`, for the digest), all through
the dashboard's selectors (generations/analytics/queries.py), so a change there touches this one file
and the figures here are the dashboard's.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from generations.analytics.filters import EARLIEST_DATE
from generations.analytics.queries import Source, Totals, key_labels, series_by, sum_totals, totals_by
from generations.models import KeyLabel

# Scope kind → the generation column it filters on ("team" is the keys labelled with the team).
SCOPE_COLUMNS = {"key": "api_key_hash", "model": "model", "provider": "provider"}


def scope_dimensions(scope_kind: str, scope_value: str) -> dict[str, object]:
    if scope_kind == "all":
        return {}
    if scope_kind == "team":
        keys = KeyLabel.objects.filter(team=scope_value).values_list("api_key_hash", flat=True)
        return {"api_key_hash": sorted(keys)}  # no key labelled with the team: matches nothing
    return {SCOPE_COLUMNS[scope_kind]: scope_value}


def daily_spend(
    *, scope_kind: str, scope_value: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[date, int]:
    """{local day: pico-units of known cost} over [start, end), days without spend left out.
    Generations of unknown cost add nothing (they are counted, never priced at $0, elsewhere)."""
    source = Source(start, end, scope_dimensions(scope_kind, scope_value))
    series = series_by(source, "day", zone.key, [])
    spend: dict[date, int] = {}
    for (bucket_start,), sums in series.items():
        cost = Totals(*sums).cost_pico
        if cost:
            day = bucket_start.astimezone(zone).date()
            spend[day] = spend.get(day, 0) + cost
    return spend


__all__ = ["SINCE_EVER", "Totals", "daily_spend", "daily_spend_by", "key_labels", "total_of", "totals_per"]

# The column of each per-scope breakdown: anomalies and the digest speak of models and keys.
BREAKDOWN_COLUMNS = {"model": "model", "key": "api_key_hash"}
SINCE_EVER = datetime.combine(EARLIEST_DATE, time.min, tzinfo=UTC)


def daily_spend_by(*, dimension: str, start: datetime, end: datetime, zone: ZoneInfo) -> dict[str, dict[date, Totals]]:
    """{model or key: {local day: its Totals}} over [start, end), for dimension "model" or "key"."""
    column = BREAKDOWN_COLUMNS[dimension]
    series = series_by(Source(start, end, {}), "day", zone.key, [column])
    days: dict[str, dict[date, Totals]] = {}
    for (bucket_start, value), sums in series.items():
        days.setdefault(value, {})[bucket_start.astimezone(zone).date()] = Totals(*sums)
    return days


def totals_per(*, dimension: str, start: datetime, end: datetime) -> dict[str, Totals]:
    """{model or key: its Totals} over [start, end); `start` SINCE_EVER: everything stored before `end`."""
    column = BREAKDOWN_COLUMNS[dimension]
    return {value: totals for (value,), totals in totals_by(Source(start, end, {}), [column]).items()}


def total_of(parts) -> Totals:
    """The Totals of several groups, summed as the dashboard sums its breakdowns."""
    return sum_totals(parts)
