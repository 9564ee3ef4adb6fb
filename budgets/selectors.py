"""Reads of budgets: each budget's current period, spend and forecast, and the alert history."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from budgets.forecast import WEEKDAY_HISTORY, Forecast, forecast
from budgets.models import Budget, Notification
from budgets.periods import Period, current_period, day_elapsed, local_midnight
from budgets.spend import daily_spend

# Full days read before today for the daily rate: the weekday-aware rate needs three weeks, and a
# week more lets the history start at the scope's first spend without falling short.
HISTORY_DAYS = WEEKDAY_HISTORY + 7


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    period: Period
    today: date
    actual: dict[date, int]  # pico per day of the period so far
    forecast: Forecast


def budget_status(budget: Budget, *, now: datetime) -> BudgetStatus:
    zone = ZoneInfo(budget.zone)
    period = current_period(budget.period, zone, now)
    today = now.astimezone(zone).date()
    history_first = today - timedelta(days=HISTORY_DAYS)
    spend = daily_spend(
        scope_kind=budget.scope_kind,
        scope_value=budget.scope_value,
        start=local_midnight(min(period.first, history_first), zone),
        end=now,
        zone=zone,
    )
    history = [(day, spend.get(day, 0)) for day in (history_first + timedelta(days=n) for n in range(HISTORY_DAYS))]
    actual = {day: spend.get(day, 0) for day in period.days if day <= today}
    outlook = forecast(
        amount_pico=budget.amount_pico,
        period_days=period.days,
        actual=actual,
        history=history,
        today=today,
        today_elapsed=day_elapsed(now, zone),
        rolling=not period.resets,
    )
    return BudgetStatus(budget=budget, period=period, today=today, actual=actual, forecast=outlook)


def budget_statuses(*, now: datetime) -> list[BudgetStatus]:
    return [budget_status(budget, now=now) for budget in Budget.objects.prefetch_related("channels")]


def notification_history(*, budget: Budget | None = None) -> QuerySet[Notification]:
    rows = Notification.objects.select_related("budget", "channel")
    return rows.filter(budget=budget) if budget else rows


@dataclass(frozen=True)
class ChartRow:
    """One local day of a budget's chart and table: cumulative pico-units (None: not on that line)."""

    day: date
    spent: int | None  # that day's spend
    actual: int | None
    forecast: int | None
    low: int | None
    high: int | None


def chart_rows(status: BudgetStatus) -> list[ChartRow]:
    projected = {point.day: point for point in status.forecast.projection}
    rows, cumulative = [], 0
    for day in status.period.days:
        point = projected.get(day)
        if day <= status.today:
            cumulative += status.actual.get(day, 0)
        rows.append(
            ChartRow(
                day=day,
                spent=status.actual.get(day, 0) if day <= status.today else None,
                actual=cumulative if day <= status.today else None,
                forecast=point.central_pico if point else None,
                low=point.low_pico if point else None,
                high=point.high_pico if point else None,
            )
        )
    return rows
