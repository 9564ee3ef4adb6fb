"""The end-of-period forecast of a budget (pure functions: integers and fractions, no database).

forecast = spent so far + Σ over what is left of the period of (share of the day left × daily rate)

The daily rate is robust to a spike: the median of the last 7 full days (fewer when the scope has
spent for fewer days; days before its first spend are not history). With 3 weeks of history it is
weekday-aware: each weekday's rate is the median of its last three. The band uses the spread of the
same days: the lowest and highest of them, without the single lowest and highest of a 7-day window.
With no full day of history yet, today's pace so far is the rate.

Money is integer pico-units; rates and shares of a day are exact fractions, rounded to the
pico-unit only in the result.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

RATE_WINDOW = 7
WEEKDAY_HISTORY = 21
WARNING_PERCENT = 80

OK, WARNING, OVER, FORECAST_OVER = "ok", "warning", "over", "forecast over"


@dataclass(frozen=True)
class DailyRate:
    central: Fraction
    low: Fraction
    high: Fraction


@dataclass(frozen=True)
class RateModel:
    """The daily rate for any day ahead, and how it was worked out (shown on the budget's page)."""

    by_weekday: dict[int, DailyRate] | None
    flat: DailyRate
    basis: str

    def rate_for(self, day: date) -> DailyRate:
        return self.by_weekday[day.weekday()] if self.by_weekday else self.flat


@dataclass(frozen=True)
class ProjectedDay:
    day: date
    central_pico: int  # cumulative spend at the end of the day
    low_pico: int
    high_pico: int


@dataclass(frozen=True)
class Forecast:
    amount_pico: int
    spent_pico: int
    forecast_pico: int
    low_pico: int
    high_pico: int
    run_out: date | None  # the day the amount is reached at this pace; None: not this period
    status: str
    basis: str
    projection: tuple[ProjectedDay, ...]

    @property
    def percent(self) -> Decimal:
        return (Decimal(self.spent_pico * 100) / Decimal(self.amount_pico)).quantize(Decimal("0.1"))

    @property
    def forecast_percent(self) -> Decimal:
        return (Decimal(self.forecast_pico * 100) / Decimal(self.amount_pico)).quantize(Decimal("0.1"))


def median(values: Sequence[int]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def _spread(values: Sequence[int]) -> DailyRate:
    ordered = sorted(values)
    # A 7-day window drops its single lowest and highest day from the band: one spike (or one
    # idle day) does not widen it.
    kept = ordered[1:-1] if len(ordered) >= 5 else ordered
    return DailyRate(central=median(values), low=Fraction(kept[0]), high=Fraction(kept[-1]))


def since_first_spend(history: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """The history from the scope's first day with spend: the days before it are not a pace of zero."""
    for index, (_, spend) in enumerate(history):
        if spend:
            return list(history[index:])
    return []


def rate_model(history: Sequence[tuple[date, int]], *, today_spent: int, today_elapsed: Fraction) -> RateModel:
    """`history`: (day, pico) of the full days before today, oldest first, from the first spend."""
    values = [spend for _, spend in history]
    if len(values) >= WEEKDAY_HISTORY:
        recent = history[-WEEKDAY_HISTORY:]
        by_weekday = {
            weekday: _spread([spend for day, spend in recent if day.weekday() == weekday]) for weekday in range(7)
        }
        return RateModel(
            by_weekday=by_weekday,
            flat=_spread(values[-RATE_WINDOW:]),
            basis="each weekday at the median of its last three (3 weeks of history)",
        )
    if values:
        window = values[-RATE_WINDOW:]
        days = f"{len(window)} full day{'s' if len(window) > 1 else ''}"
        return RateModel(by_weekday=None, flat=_spread(window), basis=f"the median day of the last {days}")
    pace = Fraction(today_spent) / today_elapsed if today_elapsed else Fraction(0)
    return RateModel(
        by_weekday=None,
        flat=DailyRate(pace, pace, pace),
        basis="today's pace so far (no full day of spend yet)",
    )


def forecast(
    *,
    amount_pico: int,
    period_days: Sequence[date],
    actual: Mapping[date, int],
    history: Sequence[tuple[date, int]],
    today: date,
    today_elapsed: Fraction,
    rolling: bool = False,
) -> Forecast:
    """The forecast for the end of the period.

    `actual`: pico spent per local day of the period so far (today's partial); `history`: the full
    days before today (any period), oldest first; `today_elapsed`: the share of today gone by.
    A rolling period ends with today, so only the rest of today is ahead; its run-out date looks
    up to 30 days ahead, the oldest days leaving the window as new ones come in.
    """
    spent = sum(actual.get(day, 0) for day in period_days if day <= today)
    model = rate_model(since_first_spend(history), today_spent=actual.get(today, 0), today_elapsed=today_elapsed)
    ahead = [today] if rolling else [day for day in period_days if day >= today]
    central = low = high = Fraction(spent)
    projection = []
    for day in ahead:
        share = 1 - today_elapsed if day == today else 1
        rate = model.rate_for(day)
        central += share * rate.central
        low += share * rate.low
        high += share * rate.high
        projection.append(ProjectedDay(day, round(central), round(low), round(high)))
    forecast_pico = round(central)
    if rolling:
        run_out = _rolling_run_out(amount_pico, period_days, actual, model, today, today_elapsed)
    else:
        run_out = _run_out(amount_pico, period_days, actual, projection, today)
    return Forecast(
        amount_pico=amount_pico,
        spent_pico=spent,
        forecast_pico=forecast_pico,
        low_pico=round(low),
        high_pico=round(high),
        run_out=run_out,
        status=status_of(amount_pico=amount_pico, spent_pico=spent, forecast_pico=forecast_pico, high_pico=round(high)),
        basis=model.basis,
        projection=tuple(projection),
    )


def status_of(*, amount_pico: int, spent_pico: int, forecast_pico: int, high_pico: int) -> str:
    if spent_pico >= amount_pico:
        return OVER
    if forecast_pico > amount_pico:
        return FORECAST_OVER
    if spent_pico * 100 >= WARNING_PERCENT * amount_pico or high_pico > amount_pico:
        return WARNING
    return OK


def _run_out(
    amount_pico: int,
    period_days: Sequence[date],
    actual: Mapping[date, int],
    projection: Sequence[ProjectedDay],
    today: date,
) -> date | None:
    cumulative = 0
    for day in period_days:
        if day > today:
            break
        cumulative += actual.get(day, 0)
        if cumulative >= amount_pico:
            return day
    return next((point.day for point in projection if point.central_pico >= amount_pico), None)


def _rolling_run_out(
    amount_pico: int,
    period_days: Sequence[date],
    actual: Mapping[date, int],
    model: RateModel,
    today: date,
    today_elapsed: Fraction,
) -> date | None:
    """The first day whose 30-day window reaches the amount: the window's actual days still in it
    plus the projected days from now to the end of that day."""
    projected = Fraction(0)
    for offset in range(len(period_days)):
        day = today + timedelta(days=offset)
        share = 1 - today_elapsed if offset == 0 else 1
        projected += share * model.rate_for(day).central
        window_first = period_days[0] + timedelta(days=offset)
        kept = sum(spend for spent_day, spend in actual.items() if window_first <= spent_day <= today)
        if kept + projected >= amount_pico:
            return day
    return None
