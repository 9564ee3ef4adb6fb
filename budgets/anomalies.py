"""Spend anomalies: a model's or key's day far above its own baseline.

A day is flagged when its spend is more than `BUDGET_ANOMALY_FACTOR` times the median of the
scope's previous 14 days (days without spend count as $0) and more than `BUDGET_ANOMALY_MIN_USD`.
Days are local days of `BUDGET_REPORT_ZONE` (UTC by default): anomalies are about models and
keys, not one budget, so they share one zone with the weekly digest. Today counts as soon as it is
over: spend only grows during a day.

A scope needs the whole baseline: its first request (of known cost or not) on or before the
baseline's first day. A newer model or key is not compared with days it did not exist (the digest
names it as new instead). A scope whose median is $0 (it spends on fewer than half of its days) is
flagged on any day above the minimum: the minimum is what keeps small spend quiet.

Read from the rollups (budgets/spend.py): one daily series per dimension and one total of what
was seen before it, never raw rows.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from budgets.periods import local_midnight
from budgets.spend import SINCE_EVER, daily_spend_by, key_labels, totals_per
from generations.display import key_name
from generations.money import to_pico

BASELINE_DAYS = 14
LISTED_DAYS = 7  # the Budgets page lists the anomalies of the last 7 days, today included
NOTIFIED_DAYS = 2  # today and yesterday: a spike in yesterday's last minutes still notifies
DIMENSIONS = ("model", "key")


@dataclass(frozen=True)
class Anomaly:
    dimension: str  # "model" or "key"
    value: str  # the model, or the key's hash
    name: str  # the model, or the key's label (its short hash without one)
    day: date
    zone: str
    spent_pico: int
    baseline_pico: Decimal  # the median of the 14 days before: may be half a pico-unit

    @property
    def scope(self) -> str:
        return f"{self.dimension}:{self.value}"

    @property
    def times(self) -> Decimal | None:
        """How many times the baseline the day spent, to one decimal; None over a $0 baseline."""
        if not self.baseline_pico:
            return None
        return (self.spent_pico / self.baseline_pico).quantize(Decimal("0.1"))


def baseline(days: dict[date, int], day: date) -> Decimal:
    """The median spend (pico-units) of the 14 days before `day`, days without spend as 0."""
    values = sorted(days.get(day - timedelta(days=n), 0) for n in range(1, BASELINE_DAYS + 1))
    middle = BASELINE_DAYS // 2
    return Decimal(values[middle - 1] + values[middle]) / 2


def is_anomaly(spent_pico: int, median_pico: Decimal, *, factor: Decimal, minimum_pico: int) -> bool:
    return spent_pico > minimum_pico and spent_pico > factor * median_pico


def _first_days(series: dict[str, dict], seen_before: set[str], read_first: date) -> dict[str, date]:
    """Each scope's first day with a request; the day before the read for those seen earlier."""
    first = {}
    for value, days in series.items():
        active = [day for day, totals in days.items() if totals.requests]
        if value in seen_before or active:
            first[value] = read_first - timedelta(days=1) if value in seen_before else min(active)
    return first


def anomalies_of(
    *,
    dimension: str,
    series: dict[str, dict],
    first_days: dict[str, date],
    days: list[date],
    zone: str,
    names: dict[str, str],
) -> list[Anomaly]:
    """The anomalies among `days` of each scope of a {value: {day: Totals}} series."""
    factor, minimum_pico = settings.BUDGET_ANOMALY_FACTOR, to_pico(settings.BUDGET_ANOMALY_MIN_USD)
    found = []
    for value, totals in series.items():
        first = first_days.get(value)
        if not value or first is None:  # no key or model recorded: nothing to drill into
            continue
        spend = {day: day_totals.cost_pico for day, day_totals in totals.items()}
        for day in days:
            if first > day - timedelta(days=BASELINE_DAYS):
                continue  # too little history
            median = baseline(spend, day)
            if is_anomaly(spend.get(day, 0), median, factor=factor, minimum_pico=minimum_pico):
                found.append(Anomaly(dimension, value, names.get(value, value), day, zone, spend.get(day, 0), median))
    return found


def recent_anomalies(*, now: datetime, listed_days: int = LISTED_DAYS) -> list[Anomaly]:
    """The anomalies of the last `listed_days` local days (today included), newest and largest first."""
    zone = ZoneInfo(settings.BUDGET_REPORT_ZONE)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(listed_days)]
    read_first = days[-1] - timedelta(days=BASELINE_DAYS)
    read_start = local_midnight(read_first, zone)
    labels = key_labels()
    found = []
    for dimension in DIMENSIONS:
        series = daily_spend_by(dimension=dimension, start=read_start, end=now, zone=zone)
        before = totals_per(dimension=dimension, start=SINCE_EVER, end=read_start)
        seen = {value for value, totals in before.items() if totals.requests}
        names = {value: key_name(value, labels) for value in series} if dimension == "key" else {}
        found += anomalies_of(
            dimension=dimension,
            series=series,
            first_days=_first_days(series, seen, read_first),
            days=days,
            zone=zone.key,
            names=names,
        )
    return sorted(found, key=lambda anomaly: (-anomaly.day.toordinal(), -anomaly.spent_pico, anomaly.scope))
