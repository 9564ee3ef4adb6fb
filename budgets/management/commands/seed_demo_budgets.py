import time
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from budgets.models import Budget, Channel
from budgets.selectors import budget_status
from budgets.spend import daily_spend
from generations.money import from_pico, to_pico

CHANNEL = "demo-inbox"
OVER = "Demo: all spend this month"
ON_TRACK = "Demo: all spend this week"


class Command(BaseCommand):
    help = (
        "Demo only (make run): two example budgets over the demo data, sized from it: a monthly one "
        "forecast to go over and a weekly one on track, both notifying an email channel that also gets "
        "the weekly digest (the console backend prints the mail). Budgets that exist already are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the demo data to load")

    def handle(self, *args, wait: float, **options) -> None:
        if Budget.objects.filter(name__in=[OVER, ON_TRACK]).exists():
            self.stdout.write("The demo budgets exist already.")
            return
        self._wait_for_spend(wait)
        channel, _ = Channel.objects.get_or_create(
            # It also gets the weekly digest: make run prints last week's in the terminal.
            name=CHANNEL,
            defaults={"kind": Channel.EMAIL, "recipients": ["you@example.com"], "digest": True},
        )
        now = timezone.now()
        zone = settings.TIME_ZONE
        # Sized from the forecast, so the demo shows both outcomes whatever day it is started on.
        month = budget_status(Budget(period="month", zone=zone, amount_pico=1), now=now).forecast
        week = budget_status(Budget(period="week", zone=zone, amount_pico=1), now=now).forecast
        # Between spent and forecast: not over yet, forecast to be.
        over_amount = max((month.spent_pico + month.forecast_pico) // 2, month.spent_pico + 1, to_pico(Decimal("0.01")))
        on_track_amount = max(week.high_pico * 2, to_pico(Decimal(1)))
        for name, period, amount in ((OVER, "month", over_amount), (ON_TRACK, "week", on_track_amount)):
            cents = from_pico(amount).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
            budget = Budget.objects.create(name=name, period=period, zone=zone, amount_pico=to_pico(cents))
            budget.channels.set([channel])
            self.stdout.write(f"Demo budget “{name}”: ${cents} a {period}.")

    def _wait_for_spend(self, wait: float) -> None:
        """Until the demo data's 30 days of spend stop growing (the fetch worker is loading them)
        beyond the trickle of the live demo app."""
        deadline, last, steady = time.monotonic() + wait, -1, 0
        zone = ZoneInfo(settings.TIME_ZONE)
        while time.monotonic() < deadline and steady < 3:
            now = timezone.now()
            total = sum(
                daily_spend(
                    scope_kind="all", scope_value="", start=now - timedelta(days=31), end=now, zone=zone
                ).values()
            )
            # The demo app keeps adding a call every few seconds: steady is under 1 % of growth.
            steady = steady + 1 if total and last > 0 and total - last <= last / 100 else 0
            last = total
            time.sleep(2)
