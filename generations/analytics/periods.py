"""The chart buckets and the one way to step a calendar month, shared by filters, charts and rollups."""

from datetime import date, datetime, timedelta
from typing import TypeVar

BUCKETS = ("hour", "day", "week", "month")

Day = TypeVar("Day", date, datetime)


def next_month(day: Day) -> Day:
    """The first day of the month after `day`'s (a datetime keeps its time of day)."""
    # Day 28 exists in every month, and four days later is always in the next one.
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
