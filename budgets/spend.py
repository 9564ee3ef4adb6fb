"""What a budget's scope spent, per local day: the budgets' only read of the analytics layer.

Everything budgets know about spend comes through `daily_spend`, so a change to the analytics
selectors (generations/analytics/queries.py) touches this one file.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from generations.analytics.queries import Source, Totals, series_by
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
