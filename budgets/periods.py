"""A budget's current period in its own time zone (pure functions, no database).

Periods are made of local calendar days: a month with a daylight-saving change still has its 31
days, one of them 23 or 25 hours long, and each day starts at local midnight.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

ROLLING_DAYS = 30
# Rolling 30-day budgets have no period to reset with, so each threshold alerts at most once per
# 30-day block, counted from this day (in the budget's zone).
ROLLING_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    days: tuple[date, ...]  # the local days of the period, in order
    zone: ZoneInfo
    # The key of "once per period" alerts: the period's start, or the 30-day block's for rolling30.
    alert_start: datetime

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def last(self) -> date:
        return self.days[-1]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def resets(self) -> bool:
        return self.kind != "rolling30"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_elapsed(now: datetime, zone: ZoneInfo) -> Fraction:
    """How much of the local day `now` falls in has passed, in real time: 13 h into a 25-hour
    fall-back day is 13/25 of it."""
    today = now.astimezone(zone).date()
    start, end = local_midnight(today, zone), local_midnight(today + timedelta(days=1), zone)
    return Fraction(int((now - start).total_seconds()), int((end - start).total_seconds()))


def current_period(kind: str, zone: ZoneInfo, now: datetime) -> Period:
    today = now.astimezone(zone).date()
    if kind == "month":
        first = today.replace(day=1)
        after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    elif kind == "week":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    elif kind == "day":
        first, after = today, today + timedelta(days=1)
    elif kind == "rolling30":
        first, after = today - timedelta(days=ROLLING_DAYS - 1), today + timedelta(days=1)
    else:
        raise ValueError(f"unknown period {kind!r}")
    days = tuple(first + timedelta(days=offset) for offset in range((after - first).days))
    if kind == "rolling30":
        block = ROLLING_EPOCH + timedelta(days=(today - ROLLING_EPOCH).days // ROLLING_DAYS * ROLLING_DAYS)
        alert_start = local_midnight(block, zone)
    else:
        alert_start = local_midnight(first, zone)
    return Period(kind=kind, days=days, zone=zone, alert_start=alert_start)
