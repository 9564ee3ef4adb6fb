"""The forecast against hand-computed cases (amounts in whole dollars, as pico-units)."""

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from budgets.forecast import FORECAST_OVER, OK, OVER, WARNING, forecast, median, status_of
from budgets.periods import current_period, day_elapsed

USD = 10**12
BERLIN = ZoneInfo("Europe/Berlin")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_a_spike_day_moves_neither_the_rate_nor_the_band():
    # June 2025 (UTC), noon on the 11th; $10 a day except $1,000 on the 7th, $5 so far today.
    actual = {day: 10 * USD for day in days(date(2025, 6, 1), date(2025, 6, 10))}
    actual[date(2025, 6, 7)] = 1000 * USD
    actual[date(2025, 6, 11)] = 5 * USD
    history = [(day, actual[day]) for day in days(date(2025, 5, 14), date(2025, 6, 10)) if day in actual]
    result = forecast(
        amount_pico=1200 * USD,
        period_days=days(date(2025, 6, 1), date(2025, 6, 30)),
        actual=actual,
        history=history,
        today=date(2025, 6, 11),
        today_elapsed=Fraction(1, 2),
    )
    # Spent 9 × $10 + $1,000 + $5; ahead half of today and 19 days at the median $10.
    assert result.spent_pico == 1095 * USD
    assert result.forecast_pico == 1290 * USD
    assert (result.low_pico, result.high_pico) == (1290 * USD, 1290 * USD)
    # $1,100 at the end of today, $10 a day more: $1,200 at the end of June 21.
    assert result.run_out == date(2025, 6, 21)
    assert result.status == FORECAST_OVER
    assert result.basis == "the median day of the last 7 full days"


def test_a_month_with_a_daylight_saving_change_counts_local_days():
    # Europe/Berlin, October 2025: the 26th is 25 hours long. At 12:00 CET 13 of its hours are gone.
    now = datetime(2025, 10, 26, 11, 0, tzinfo=UTC)
    period = current_period("month", BERLIN, now)
    assert len(period.days) == 31
    assert period.start == datetime(2025, 9, 30, 22, 0, tzinfo=UTC)
    assert period.end == datetime(2025, 10, 31, 23, 0, tzinfo=UTC)
    elapsed = day_elapsed(now, BERLIN)
    assert elapsed == Fraction(13, 25)
    actual = {day: 25 * USD for day in days(date(2025, 10, 1), date(2025, 10, 25))}
    actual[date(2025, 10, 26)] = 13 * USD
    result = forecast(
        amount_pico=800 * USD,
        period_days=period.days,
        actual=actual,
        history=[(day, 25 * USD) for day in days(date(2025, 10, 1), date(2025, 10, 25))],
        today=date(2025, 10, 26),
        today_elapsed=elapsed,
    )
    # $638 spent; 12/25 of today and 5 more days at $25: $12 + $125.
    assert result.spent_pico == 638 * USD
    assert result.forecast_pico == 775 * USD
    assert result.run_out is None
    assert result.status == OK  # 79.75 % spent: under the 80 % warning
    assert str(result.percent) == "79.8"


def test_a_period_without_spend_forecasts_nothing():
    result = forecast(
        amount_pico=50 * USD,
        period_days=days(date(2025, 6, 1), date(2025, 6, 30)),
        actual={},
        history=[(day, 0) for day in days(date(2025, 5, 14), date(2025, 6, 10))],
        today=date(2025, 6, 11),
        today_elapsed=Fraction(1, 2),
    )
    assert (result.spent_pico, result.forecast_pico, result.low_pico, result.high_pico) == (0, 0, 0, 0)
    assert result.run_out is None
    assert result.status == OK
    assert result.basis == "today's pace so far (no full day of spend yet)"


def test_a_budget_whose_spend_started_mid_period_uses_only_the_days_since():
    # March 2025 (UTC), 06:00 on the 15th; the scope first spent on the 12th: $4, $6, $5, and $2 today.
    actual = {date(2025, 3, 12): 4 * USD, date(2025, 3, 13): 6 * USD, date(2025, 3, 14): 5 * USD}
    actual[date(2025, 3, 15)] = 2 * USD
    history = [(day, actual.get(day, 0)) for day in days(date(2025, 2, 15), date(2025, 3, 14))]
    result = forecast(
        amount_pico=100 * USD,
        period_days=days(date(2025, 3, 1), date(2025, 3, 31)),
        actual=actual,
        history=history,
        today=date(2025, 3, 15),
        today_elapsed=Fraction(1, 4),
    )
    # $17 spent; 3/4 of today and 16 days ahead = 16.75 days at the median $5 (band $4 to $6).
    assert result.spent_pico == 17 * USD
    assert result.forecast_pico == 100_750_000_000_000
    assert result.low_pico == 84 * USD
    assert result.high_pico == 117_500_000_000_000
    # $20.75 at the end of today; $95.75 at the end of the 30th, $100.75 at the end of the 31st.
    assert result.run_out == date(2025, 3, 31)
    assert result.status == FORECAST_OVER
    assert result.basis == "the median day of the last 3 full days"


def test_with_three_weeks_of_history_each_weekday_has_its_own_rate():
    # April 2025 (UTC), midnight starting Wednesday the 23rd: $10 on weekdays, $2 at weekends.
    spend = {day: (10 if day.weekday() < 5 else 2) * USD for day in days(date(2025, 4, 1), date(2025, 4, 22))}
    result = forecast(
        amount_pico=500 * USD,
        period_days=days(date(2025, 4, 1), date(2025, 4, 30)),
        actual=spend,
        history=sorted(spend.items()),
        today=date(2025, 4, 23),
        today_elapsed=Fraction(0),
    )
    # Spent: 16 weekdays × $10 + 6 weekend days × $2; ahead: 6 weekdays and 2 weekend days.
    assert result.spent_pico == 172 * USD
    assert result.forecast_pico == (172 + 64) * USD
    assert result.basis == "each weekday at the median of its last three (3 weeks of history)"


def rolling_forecast(*, amount_pico: int, actual: dict[date, int]):
    """A rolling 30-day budget's forecast at midnight starting June 30, 2025, its history the spend given."""
    today = date(2025, 6, 30)
    return forecast(
        amount_pico=amount_pico,
        period_days=days(today - timedelta(days=29), today),
        actual=actual,
        history=sorted(actual.items()),
        today=today,
        today_elapsed=Fraction(0),
        rolling=True,
    )


def test_a_rolling_budget_at_a_steady_pace_never_runs_out():
    # $3 a day on each of the window's 29 days before today.
    actual = {day: 3 * USD for day in days(date(2025, 6, 1), date(2025, 6, 29))}
    result = rolling_forecast(amount_pico=100 * USD, actual=actual)
    assert result.spent_pico == 87 * USD
    assert result.forecast_pico == 90 * USD
    assert result.run_out is None


def test_a_rolling_budget_runs_out_when_new_days_outweigh_the_days_leaving():
    # Nothing, then $1 a day for three days and $10 a day for the last week: the days leaving the
    # window are empty, the days coming in $10 each.
    actual = {date(2025, 6, 30) - timedelta(days=n): (1 if n > 7 else 10) * USD for n in range(1, 11)}
    result = rolling_forecast(amount_pico=100 * USD, actual=actual)
    # Window now: 3 × $1 + 7 × $10 = $73; at the median $10 a day: $83, $93, then $103 on July 2.
    assert result.spent_pico == 73 * USD
    assert result.forecast_pico == 83 * USD
    assert result.run_out == date(2025, 7, 2)


def test_status_is_over_at_exactly_the_amount():
    assert status_of(amount_pico=100, spent_pico=100, forecast_pico=100, high_pico=100) == OVER
    assert status_of(amount_pico=100, spent_pico=99, forecast_pico=101, high_pico=101) == FORECAST_OVER
    assert status_of(amount_pico=100, spent_pico=80, forecast_pico=90, high_pico=95) == WARNING
    assert status_of(amount_pico=100, spent_pico=10, forecast_pico=90, high_pico=101) == WARNING
    assert status_of(amount_pico=100, spent_pico=79, forecast_pico=90, high_pico=100) == OK


def test_median_of_an_even_count_is_exact():
    assert median([1, 2]) == Fraction(3, 2)
    assert median([5, 1, 3]) == 3
