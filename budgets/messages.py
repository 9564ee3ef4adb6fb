"""What an alert says: the webhook's JSON payload (docs/budgets.md) and the text of emails and Slack.

Money is an exact decimal string of USD, times ISO 8601 with the budget zone's offset.
"""

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from budgets.anomalies import Anomaly
from budgets.selectors import BudgetStatus
from generations.money import from_pico, to_pico

CENT = Decimal("0.01")


def _exact(amount: Decimal, spec: str = "f") -> str:
    return format(amount.quantize(CENT) if amount == amount.quantize(CENT) else amount, spec)


def money_text(pico: int | Decimal) -> str:
    """Exact USD, at least to the cent: "50.00", "0.004731", never an exponent. A Decimal of
    pico-units may hold a half (a median of two days)."""
    return _exact(from_pico(pico) if isinstance(pico, int) else pico.scaleb(-12).normalize())


def dollars(pico: int) -> str:
    """Exact USD for people to read: "$1,234.50", "-$0.004731" (money_text with a sign and commas)."""
    text = _exact(from_pico(abs(pico)), ",f")
    return f"-${text}" if pico < 0 else f"${text}"


def budget_url(budget_id: int) -> str:
    return settings.SITE_URL + reverse("budget-detail", args=[budget_id])


# The generations list's filter for each scope kind.
SCOPE_FILTERS = {"team": "team", "key": "key", "model": "model", "provider": "provider"}


def generations_path(*, scope_kind: str, scope_value: str, first: date, last: date, zone: str) -> str:
    """The generations list of one scope ("all", "team", "key", "model", "provider") over local days."""
    params = {"range": "custom", "start": first.isoformat(), "end": last.isoformat(), "tz": zone}
    if scope_kind in SCOPE_FILTERS:
        params[SCOPE_FILTERS[scope_kind]] = scope_value
    return reverse("generation-list") + "?" + urlencode(params)


def alert_payload(
    status: BudgetStatus, *, event: str, threshold: int | None, now: datetime, previous_spent: int | None = None
) -> dict:
    budget, period, outlook = status.budget, status.period, status.forecast
    payload = {
        "event": event,
        "budget": budget.name,
        "scope": budget.scope,
        "period": budget.period,
        "zone": budget.zone,
        "period_start": period.start.astimezone(period.zone).isoformat(),
        "period_end": period.end.astimezone(period.zone).isoformat(),
        "spent": money_text(outlook.spent_pico),
        "amount": money_text(outlook.amount_pico),
        "percent": f"{outlook.percent:f}",
        "forecast": money_text(outlook.forecast_pico),
        "forecast_low": money_text(outlook.low_pico),
        "forecast_high": money_text(outlook.high_pico),
        "run_out_date": outlook.run_out.isoformat() if outlook.run_out else None,
        "status": outlook.status,
        "threshold": threshold,
        "url": budget_url(budget.pk),
        "evaluated_at": now.astimezone(period.zone).isoformat(),
    }
    if previous_spent is not None:
        payload["previous_period_spent"] = money_text(previous_spent)
    return payload


def anomaly_path(anomaly: Anomaly) -> str:
    """The generations list of the anomaly's model or key on its day."""
    return generations_path(
        scope_kind=anomaly.dimension, scope_value=anomaly.value, first=anomaly.day, last=anomaly.day, zone=anomaly.zone
    )


def anomaly_payload(anomaly: Anomaly, *, now: datetime) -> dict:
    times = anomaly.times
    return {
        "event": "anomaly",
        "scope": anomaly.scope,
        "name": anomaly.name,
        "day": anomaly.day.isoformat(),
        "zone": anomaly.zone,
        "spent": money_text(anomaly.spent_pico),
        "baseline_median": money_text(anomaly.baseline_pico),
        "times_baseline": None if times is None else f"{times:f}",
        "factor": f"{settings.BUDGET_ANOMALY_FACTOR:f}",
        "minimum": money_text(to_pico(settings.BUDGET_ANOMALY_MIN_USD)),
        "url": settings.SITE_URL + anomaly_path(anomaly),
        "evaluated_at": now.astimezone(ZoneInfo(anomaly.zone)).isoformat(),
    }


def test_payload(*, channel_name: str, now: datetime) -> dict:
    return {
        "event": "test",
        "channel": channel_name,
        "message": "A test from FastRouter Dash: this channel works.",
        "evaluated_at": now.isoformat(),
    }


def subject(payload: dict) -> str:
    name = payload.get("budget", "")
    event = payload["event"]
    if event == "threshold":
        return f"Budget “{name}”: {payload['threshold']} % reached ({payload['percent']} % spent)"
    if event == "forecast":
        return f"Budget “{name}” is forecast to go over: ${payload['forecast']} of ${payload['amount']}"
    if event == "reset":
        return f"Budget “{name}”: a new period starts"
    if event == "anomaly":
        what = payload["scope"].partition(":")[0]
        return f"Spend anomaly: {what} “{payload['name']}” spent ${payload['spent']} on {payload['day']}"
    if event == "digest":
        return payload["subject"]
    return "FastRouter Dash: test message"


def text(payload: dict) -> str:
    if payload["event"] == "test":
        return payload["message"]
    if payload["event"] == "anomaly":
        return _anomaly_text(payload)
    if payload["event"] == "digest":
        return payload["text"]
    run_out = payload["run_out_date"] or "not this period"
    lines = [
        subject(payload),
        "",
        f"Scope: {payload['scope']}",
        f"Period: {payload['period_start']} to {payload['period_end']} ({payload['zone']})",
        f"Spent: ${payload['spent']} of ${payload['amount']} ({payload['percent']} %)",
        f"Forecast for the end of the period: ${payload['forecast']} "
        f"(between ${payload['forecast_low']} and ${payload['forecast_high']})",
        f"Runs out: {run_out}",
        f"Status: {payload['status']}",
    ]
    if "previous_period_spent" in payload:
        lines.append(f"Spent in the period before: ${payload['previous_period_spent']}")
    lines += ["", payload["url"]]
    return "\n".join(lines)


def _anomaly_text(payload: dict) -> str:
    times = f"{payload['times_baseline']}× " if payload["times_baseline"] else ""
    return "\n".join(
        [
            subject(payload),
            "",
            f"Scope: {payload['scope']}",
            f"Day: {payload['day']} ({payload['zone']})",
            f"Spent: ${payload['spent']}, {times}the median of the 14 days before (${payload['baseline_median']})",
            f"Flagged above {payload['factor']}× that median and above ${payload['minimum']}",
            "",
            payload["url"],
        ]
    )
