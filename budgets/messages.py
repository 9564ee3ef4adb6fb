"""What an alert says: the webhook's JSON payload (docs/budgets.md) and the text of emails and Slack.

Money is an exact decimal string of USD, times ISO 8601 with the budget zone's offset.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from budgets.selectors import BudgetStatus
from generations.money import from_pico

CENT = Decimal("0.01")


def money_text(pico: int) -> str:
    """Exact USD, at least to the cent: "50.00", "0.004731", never an exponent."""
    amount = from_pico(pico)
    return f"{amount.quantize(CENT) if amount == amount.quantize(CENT) else amount:f}"


def budget_url(budget_id: int) -> str:
    return settings.SITE_URL + reverse("budget-detail", args=[budget_id])


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
    return "FastRouter Dash: test message"


def text(payload: dict) -> str:
    if payload["event"] == "test":
        return payload["message"]
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
