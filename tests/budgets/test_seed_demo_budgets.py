from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from budgets.models import Budget
from budgets.selectors import budget_status
from tests.budgets.conftest import USD

pytestmark = pytest.mark.django_db


def test_the_demo_budgets_show_one_forecast_over_and_its_alert_is_mailed(spend):
    now = datetime.now(UTC)
    for days_ago in range(1, 20):
        spend(USD, at=now - timedelta(days=days_ago))
    spend(USD // 4, at=now - timedelta(seconds=30))
    out = StringIO()
    call_command("seed_demo_budgets", "--wait", "0", stdout=out)
    statuses = {b.name: budget_status(b, now=timezone.now()).forecast.status for b in Budget.objects.all()}
    assert statuses == {"Demo: all spend this month": "forecast over", "Demo: all spend this week": "ok"}
    call_command("evaluate_budgets", stdout=StringIO())
    assert any(
        message.subject.startswith("Budget “Demo: all spend this month” is forecast to go over")
        for message in mail.outbox
    )
    assert sum(message.subject.startswith("FastRouter Dash weekly digest") for message in mail.outbox) == 1
    call_command("seed_demo_budgets", "--wait", "0", stdout=out)
    assert out.getvalue().endswith("The demo budgets exist already.\n")
