"""The Budgets pages: everyone signed in reads; staff create, edit, delete and send tests."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from budgets.models import Budget, Notification
from tests.budgets.conftest import USD

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget(make_budget, email_channel, spend) -> Budget:
    spend(3 * USD, at=datetime.now(UTC) - timedelta(minutes=1), model="openai/gpt-4o")
    return make_budget(name="GPT-4o", scope_kind="model", scope_value="openai/gpt-4o", channels=[email_channel])


def test_the_list_shows_spent_percent_forecast_run_out_and_status(viewer_client, budget):
    page = viewer_client.get("/budgets/").content.decode()
    assert "GPT-4o" in page
    assert "$3.00" in page
    assert "30.0 % of $10.00" in page
    assert 'class="badge status-' in page
    assert "New budget" not in page  # a viewer reads only
    assert "Send test" not in page


def test_the_nav_links_to_budgets(viewer_client):
    assert 'href="/budgets/"' in viewer_client.get("/budgets/alerts/").content.decode()


def test_a_budgets_page_feeds_its_chart_from_json_and_links_to_its_generations(viewer_client, budget):
    response = viewer_client.get(f"/budgets/{budget.pk}/")
    page = response.content.decode()
    assert "<script>" not in page  # the strict CSP: no inline script
    data = json.loads(page.split('<script id="budget-chart-data" type="application/json">')[1].split("</script>")[0])
    assert len(data["labels"]) == len(response.context["status"].period.days)
    assert set(data["budget"]) == {"10.00"}
    today = response.context["status"].today.isoformat()
    assert data["actual"][data["labels"].index(today)] == "3.00"
    drill = urlsplit(response.context["drill_down_url"])
    assert drill.path == "/generations/"
    query = parse_qs(drill.query)
    assert query["model"] == ["openai/gpt-4o"]
    assert query["range"] == ["custom"]
    assert query["start"] == [response.context["status"].period.first.isoformat()]
    assert query["tz"] == ["Europe/Berlin"]
    assert viewer_client.get(response.context["drill_down_url"]).status_code == 200


def test_viewers_cannot_manage(viewer_client, budget, email_channel):
    assert viewer_client.get("/budgets/new/").status_code == 403
    assert viewer_client.post(f"/budgets/{budget.pk}/delete/").status_code == 403
    assert viewer_client.post(f"/budgets/channels/{email_channel.pk}/test/").status_code == 403
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_staff_create_a_budget_on_the_page(staff_client, email_channel):
    response = staff_client.post(
        "/budgets/new/",
        {
            "name": "Research",
            "scope": "team:research",
            "amount": "120.50",
            "period": "week",
            "zone": "America/New_York",
            "thresholds_text": "90, 50",
            "channels": [email_channel.pk],
        },
    )
    budget = Budget.objects.get(name="Research")
    assert response.status_code == 302 and response["Location"] == f"/budgets/{budget.pk}/"
    assert (budget.scope, budget.amount_pico, budget.thresholds) == ("team:research", 120_500_000_000_000, [50, 90])
    assert list(budget.channels.all()) == [email_channel]


def test_a_bad_budget_form_says_what_is_wrong(staff_client):
    response = staff_client.post(
        "/budgets/new/",
        {
            "name": "x",
            "scope": "galaxy:far",
            "amount": "-3",
            "period": "month",
            "zone": "Nowhere/Land",
            "thresholds_text": "a",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "scope must be all, team:NAME" in page
    assert "amount must be more than 0" in page
    assert "unknown time zone" in page
    assert "whole percentages" in page
    assert not Budget.objects.exists()


def test_staff_edit_and_delete_a_budget_and_its_history_stays(staff_client, budget):
    edit = staff_client.get(f"/budgets/{budget.pk}/edit/").content.decode()
    assert 'value="10.00"' in edit and 'value="model:openai/gpt-4o"' in edit
    Notification.objects.create(
        budget=budget,
        budget_name=budget.name,
        channel_name="finance",
        kind="threshold",
        threshold=50,
        next_attempt_at=datetime.now(UTC),
    )
    assert staff_client.post(f"/budgets/{budget.pk}/delete/").status_code == 302
    assert not Budget.objects.exists()
    assert "GPT-4o" in staff_client.get("/budgets/alerts/").content.decode()


def test_send_test_reports_success(staff_client, email_channel):
    response = staff_client.post(f"/budgets/channels/{email_channel.pk}/test/", follow=True)
    assert "Test sent to “finance”." in response.content.decode()
    assert len(mail.outbox) == 1
    assert Notification.objects.get().kind == "test"
