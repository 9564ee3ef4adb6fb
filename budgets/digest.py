"""The weekly digest: what changed in the last full week (Monday to Sunday) against the week before.

Its figures are the dashboard's: per model and per key from the same selectors (budgets/spend.py),
teams from the keys' labels as the dashboard's "Cost by team" makes them, money exact. Weeks are
local weeks of `BUDGET_REPORT_ZONE` (UTC by default), like the anomalies' days.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from budgets.messages import dollars, money_text
from budgets.periods import local_midnight
from budgets.selectors import BudgetStatus, budget_statuses
from budgets.spend import SINCE_EVER, Totals, key_labels, total_of, totals_per
from generations.display import key_name
from generations.models import KeyLabel

NO_TEAM = "(no team)"  # as the dashboard's "Cost by team" names keys without one
MOVER_DIMENSIONS = ("model", "key", "team")


@dataclass(frozen=True)
class Mover:
    name: str
    cost_pico: int
    previous_pico: int

    @property
    def change_pico(self) -> int:
        return self.cost_pico - self.previous_pico


@dataclass(frozen=True)
class Digest:
    zone: str
    first: date  # the Monday
    last: date  # the Sunday
    total: Totals
    previous: Totals
    movers: dict[str, list[Mover]]  # "model", "key", "team": the largest changes first
    new_models: list[str]
    new_keys: list[str]  # as people know them: label or short hash
    at_risk: list[BudgetStatus]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, ZoneInfo(self.zone))


def last_full_week(now: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The Monday and Sunday of the last local week that has ended."""
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday - timedelta(days=1)


def movers(
    current: dict[str, Totals], previous: dict[str, Totals], *, top: int, name: Callable[[str], str] = str
) -> list[Mover]:
    """The `top` whose cost changed most (up or down), then by name; unchanged ones left out."""
    changed = []
    for value in set(current) | set(previous):
        cost = current[value].cost_pico if value in current else 0
        before = previous[value].cost_pico if value in previous else 0
        if cost != before:
            changed.append(Mover(name(value), cost, before))
    return sorted(changed, key=lambda mover: (-abs(mover.change_pico), mover.name))[:top]


def by_team(per_key: dict[str, Totals], labels: dict[str, KeyLabel]) -> dict[str, Totals]:
    """Totals per team of the keys' labels; keys without one under "(no team)", as on the dashboard."""
    grouped: dict[str, list[Totals]] = {}
    for key, totals in per_key.items():
        team = labels[key].team if key in labels and labels[key].team else NO_TEAM
        grouped.setdefault(team, []).append(totals)
    return {team: total_of(parts) for team, parts in grouped.items()}


def _new(current: dict[str, Totals], *, dimension: str, start: datetime) -> list[str]:
    """Values with requests this week and none ever before it."""
    before = totals_per(dimension=dimension, start=SINCE_EVER, end=start)
    return sorted(
        value
        for value, totals in current.items()
        if totals.requests and not (value in before and before[value].requests)
    )


def weekly_digest(*, now: datetime) -> Digest:
    zone = ZoneInfo(settings.BUDGET_REPORT_ZONE)
    first, last = last_full_week(now, zone)
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    previous_start = local_midnight(first - timedelta(days=7), zone)
    labels = key_labels()
    week = {dimension: totals_per(dimension=dimension, start=start, end=end) for dimension in ("model", "key")}
    before = {
        dimension: totals_per(dimension=dimension, start=previous_start, end=start) for dimension in ("model", "key")
    }
    top = settings.BUDGET_DIGEST_TOP
    return Digest(
        zone=zone.key,
        first=first,
        last=last,
        total=total_of(week["model"].values()),
        previous=total_of(before["model"].values()),
        movers={
            "model": movers(week["model"], before["model"], top=top, name=lambda model: model or "unknown"),
            "key": movers(week["key"], before["key"], top=top, name=lambda key: key_name(key, labels)),
            "team": movers(by_team(week["key"], labels), by_team(before["key"], labels), top=top),
        },
        new_models=[model or "unknown" for model in _new(week["model"], dimension="model", start=start)],
        new_keys=[key_name(key, labels) for key in _new(week["key"], dimension="key", start=start)],
        at_risk=[status for status in budget_statuses(now=now) if status.forecast.status != "ok"],
    )


# ---------------------------------------------------------------------------------------------
# The message: figures as exact strings, and the text email and Slack show


def _change_text(current: int, previous: int) -> str:
    """ "up $23.45 (+23.5 %) from $100.00": exact money, the percentage to a tenth."""
    if current == previous:
        return f"unchanged from {dollars(previous)}"
    direction = "up" if current > previous else "down"
    text = f"{direction} {dollars(abs(current - previous))}"
    if previous:
        percent = (Decimal(current - previous) * 100 / previous).quantize(Decimal("0.1"))
        text += f" ({percent:+f} %)"
    return f"{text} from {dollars(previous)}"


def _mover_lines(title: str, found: list[Mover]) -> list[str]:
    lines = [f"Top movers by {title}:"]
    lines += [
        f"  {mover.name}: {dollars(mover.cost_pico)}, {_change_text(mover.cost_pico, mover.previous_pico)}"
        for mover in found
    ]
    return lines if found else [f"Top movers by {title}: none"]


def _risk_line(status: BudgetStatus) -> str:
    outlook = status.forecast
    ran = "ran" if outlook.status == "over" else "runs"
    run_out = f", {ran} out {outlook.run_out.isoformat()}" if outlook.run_out else ""
    return (
        f"  {status.budget.name} ({status.budget.scope}): {outlook.status}, {dollars(outlook.spent_pico)} "
        f"spent of {dollars(outlook.amount_pico)}, forecast {dollars(outlook.forecast_pico)}{run_out}"
    )


def dashboard_url(digest: Digest) -> str:
    query = {"range": "custom", "start": digest.first.isoformat(), "end": digest.last.isoformat(), "tz": digest.zone}
    return settings.SITE_URL + reverse("dashboard") + "?" + urlencode(query)


def digest_text(digest: Digest) -> tuple[str, str]:
    """(subject, text) of the digest."""
    total, previous = digest.total, digest.previous
    subject = (
        f"FastRouter Dash weekly digest, {digest.first:%a %-d %b} – {digest.last:%a %-d %b %Y} ({digest.zone}): "
        f"{dollars(total.cost_pico)} spent"
    )
    lines = [
        subject,
        "",
        f"Spend: {dollars(total.cost_pico)}, {_change_text(total.cost_pico, previous.cost_pico)} the week before",
        f"Generations: {total.requests:,} ({previous.requests:,} the week before)",
        f"Generations of unknown cost, not in the spend: {total.unknown_cost_requests:,} "
        f"({previous.unknown_cost_requests:,} the week before)",
        "",
        *_mover_lines("model", digest.movers["model"]),
        *_mover_lines("key", digest.movers["key"]),
        *_mover_lines("team", digest.movers["team"]),
        "",
        f"New models: {', '.join(digest.new_models) or 'none'}",
        f"New keys: {', '.join(digest.new_keys) or 'none'}",
        "",
        f"Budgets at risk: {'none' if not digest.at_risk else len(digest.at_risk)}",
        *(_risk_line(status) for status in digest.at_risk),
        "",
        dashboard_url(digest),
    ]
    return subject, "\n".join(lines)


def digest_payload(digest: Digest, *, now: datetime) -> dict:
    subject, text = digest_text(digest)
    return {
        "event": "digest",
        "week_first": digest.first.isoformat(),
        "week_last": digest.last.isoformat(),
        "zone": digest.zone,
        "spent": money_text(digest.total.cost_pico),
        "previous_spent": money_text(digest.previous.cost_pico),
        "unknown_cost_generations": digest.total.unknown_cost_requests,
        "new_models": digest.new_models,
        "new_keys": digest.new_keys,
        "budgets_at_risk": [status.budget.name for status in digest.at_risk],
        "subject": subject,
        "text": text,
        "evaluated_at": now.astimezone(ZoneInfo(digest.zone)).isoformat(),
    }
