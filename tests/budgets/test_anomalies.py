"""Spend anomalies: a model's or key's day above N× the median of its 14 days before and above a
minimum; hand-computed cases, listed on the Budgets page and notified once per day and scope."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from budgets.anomalies import baseline, recent_anomalies
from budgets.models import Channel, Notification
from budgets.services import anomalies_evaluate, notifications_deliver
from generations.models import KeyLabel
from tests.budgets.conftest import NOW, USD, run_concurrently

pytestmark = pytest.mark.django_db

TODAY = date(2025, 10, 15)  # NOW's day in UTC
SPIKY_KEY = "sha256:5p1k3d0000000000000000"


@pytest.fixture(autouse=True)
def rule(settings):
    settings.BUDGET_ANOMALY_FACTOR = Decimal("3")
    settings.BUDGET_ANOMALY_MIN_USD = Decimal("5.00")
    settings.BUDGET_REPORT_ZONE = "UTC"


@pytest.fixture
def daily(spend):
    """`pico` on each of these days of October 2025 (09:00 UTC), for one model and key."""

    def add(days, pico: int, *, model: str = "acme/spiky", key: str = SPIKY_KEY) -> None:
        for day in days:
            spend(pico, at=datetime(2025, 10, day, 9, 0, tzinfo=UTC), model=model, api_key_hash=key)

    return add


def found() -> list[tuple[str, str, date, int, Decimal]]:
    return [(a.dimension, a.name, a.day, a.spent_pico, a.baseline_pico) for a in recent_anomalies(now=NOW)]


def test_the_baseline_is_the_median_of_the_14_days_before_with_days_without_spend_as_zero():
    # 7 days of 4 and 7 without: sorted, the 7th and 8th are 0 and 4.
    days = {TODAY - timedelta(days=n): 4 for n in range(1, 8)}
    days[TODAY] = 1000  # the day itself is not its own baseline
    days[TODAY - timedelta(days=15)] = 1000  # nor is a day before the 14
    assert baseline(days, TODAY) == Decimal(2)
    assert baseline({}, TODAY) == 0


def test_a_spike_is_flagged_for_its_model_and_its_key_by_label(daily):
    KeyLabel.objects.create(api_key_hash=SPIKY_KEY, name="Batch bot", team="research")
    daily(range(1, 15), USD)  # $1 a day from 1 to 14 October: the first day is the baseline's first
    daily([15], 10 * USD)  # today, so far: 10× the median
    assert found() == [
        ("key", "Batch bot", TODAY, 10 * USD, Decimal(USD)),
        ("model", "acme/spiky", TODAY, 10 * USD, Decimal(USD)),
    ]
    assert [a.times for a in recent_anomalies(now=NOW)] == [Decimal("10.0"), Decimal("10.0")]


def test_a_spike_not_above_the_minimum_or_not_above_the_factor_is_not_flagged(daily, settings):
    daily(range(1, 15), USD)
    daily([15], 5 * USD)  # 5× the median, but not more than $5.00
    assert found() == []
    daily([15], 1, model="acme/spiky")  # one pico-unit more: above both
    assert [(dimension, spent) for dimension, _, _, spent, _ in found()] == [
        ("key", 5 * USD + 1),
        ("model", 5 * USD + 1),
    ]
    settings.BUDGET_ANOMALY_FACTOR = Decimal("5.000000000001")  # exactly 5× is not more than 5×
    settings.BUDGET_ANOMALY_MIN_USD = Decimal("0.01")
    assert found() == []


def test_a_scope_with_less_than_14_days_of_history_is_not_flagged(daily):
    daily(range(2, 15), USD)  # first seen on 2 October: 13 days before today
    daily([15], 10 * USD)
    assert found() == []


def test_a_zero_median_flags_any_day_above_the_minimum(daily, spend):
    # Six days of $2 among the 14: the median (7th and 8th of the sorted days) is $0.
    daily([1, 3, 5, 7, 9, 11], 2 * USD)
    daily([15], 6 * USD)
    [model, _key] = sorted(recent_anomalies(now=NOW), key=lambda a: a.dimension != "model")
    assert (model.day, model.spent_pico, model.baseline_pico, model.times) == (TODAY, 6 * USD, 0, None)
    # A seventh day of $2 makes the median $1: $6 is 6× it, still flagged; at $4 a day the median
    # is $2 and $6 is exactly 3× it: not flagged.
    daily([13], 2 * USD)
    assert {a.baseline_pico for a in recent_anomalies(now=NOW)} == {Decimal(USD)}
    daily([1, 3, 5, 7, 9, 11, 13], 2 * USD)
    assert found() == []


def test_a_scope_seen_long_before_and_quiet_since_has_a_zero_baseline(spend):
    spend(USD, at=datetime(2025, 8, 1, 9, 0, tzinfo=UTC), model="acme/returning", api_key_hash=SPIKY_KEY)
    spend(7 * USD, at=datetime(2025, 10, 15, 9, 0, tzinfo=UTC), model="acme/returning", api_key_hash=SPIKY_KEY)
    assert {(a.dimension, a.spent_pico, a.baseline_pico) for a in recent_anomalies(now=NOW)} == {
        ("model", 7 * USD, 0),
        ("key", 7 * USD, 0),
    }


def test_days_are_local_days_of_the_report_zone(daily, spend, settings):
    daily(range(1, 15), USD)
    spend(USD, at=datetime(2025, 9, 30, 9, 0, tzinfo=UTC), model="acme/spiky", api_key_hash=SPIKY_KEY)
    # 02:00 UTC on 15 October is still 14 October in New York: a $1 day there becomes $11.
    spend(10 * USD, at=datetime(2025, 10, 15, 2, 0, tzinfo=UTC), model="acme/spiky", api_key_hash=SPIKY_KEY)
    assert {a.day for a in recent_anomalies(now=NOW)} == {TODAY}
    settings.BUDGET_REPORT_ZONE = "America/New_York"
    assert {(a.day, a.spent_pico, a.zone) for a in recent_anomalies(now=NOW)} == {
        (date(2025, 10, 14), 11 * USD, "America/New_York")
    }


def test_anomalies_notify_once_per_day_scope_and_channel_across_evaluations(daily, email_channel, viewer_client):
    Channel.objects.filter(pk=email_channel.pk).update(anomalies=True)
    Channel.objects.create(name="quiet", kind=Channel.EMAIL, recipients=["q@example.com"])  # not asked
    daily(range(1, 15), USD)
    daily([15], 10 * USD)
    enqueued = anomalies_evaluate(now=NOW)
    assert sorted((n.kind, n.scope, n.channel_name) for n in enqueued) == [
        ("anomaly", f"key:{SPIKY_KEY}", "finance"),
        ("anomaly", "model:acme/spiky", "finance"),
    ]
    assert {n.period_start for n in enqueued} == {datetime(2025, 10, 15, tzinfo=UTC)}
    # More spend, a later evaluation, a restart: the same day and scope are not sent again.
    daily([15], 10 * USD)
    assert anomalies_evaluate(now=NOW + timedelta(minutes=5)) == []
    assert Notification.objects.count() == 2
    assert notifications_deliver(now=NOW).sent == 2
    model_mail = next(message for message in mail.outbox if "model “acme/spiky”" in message.subject)
    assert model_mail.subject == "Spend anomaly: model “acme/spiky” spent $10.00 on 2025-10-15"
    assert "Spent: $10.00, 10.0× the median of the 14 days before ($1.00)" in model_mail.body
    assert "/generations/?range=custom&start=2025-10-15&end=2025-10-15&tz=UTC&model=acme%2Fspiky" in model_mail.body
    history = viewer_client.get("/budgets/alerts/").content.decode()
    assert history.count("Anomaly") == 2 and "model:acme/spiky" in history


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluators_enqueue_each_anomaly_once(daily, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(anomalies=True)
    daily(range(1, 15), USD)
    daily([15], 10 * USD)
    results = run_concurrently(lambda: anomalies_evaluate(now=NOW))
    assert sorted(len(result) for result in results) in ([0, 2], [1, 1])
    assert Notification.objects.filter(kind="anomaly").count() == 2


def test_only_today_and_yesterday_are_notified_older_ones_are_listed(daily, spend, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(anomalies=True)
    spend(USD, at=datetime(2025, 9, 29, 9, 0, tzinfo=UTC), model="acme/spiky", api_key_hash=SPIKY_KEY)
    daily(range(1, 14), USD)
    daily([13], 10 * USD)  # two days ago
    assert {a.day for a in recent_anomalies(now=NOW)} == {date(2025, 10, 13)}
    assert anomalies_evaluate(now=NOW) == []


def test_the_budgets_page_lists_anomalies_with_links_to_their_generations(
    viewer_client, spend, django_assert_num_queries
):
    KeyLabel.objects.create(api_key_hash=SPIKY_KEY, name="Batch bot")
    # The page reads the real clock: spend around it.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in range(1, 15):
        spend(USD, at=today - timedelta(days=days_ago, hours=-1), model="acme/spiky", api_key_hash=SPIKY_KEY)
    spend(12 * USD, at=today, model="acme/spiky", api_key_hash=SPIKY_KEY)
    # Session, user, the navigation's permissions and worker banner, the budgets, the channels, the
    # key labels once and, per dimension (model, key), a daily series and a total of what came
    # before: the same however many models, keys and anomalies.
    with django_assert_num_queries(12):
        response = viewer_client.get("/budgets/")
    page = response.content.decode()
    table = page.split('id="anomaly-table"')[1].split("</table>")[0]
    assert "Batch bot" in table and "acme/spiky" in table
    assert table.count("$12.00") == 2 and table.count("$1.00") == 2 and table.count("12.0×") == 2
    day = today.date().isoformat()
    assert f'href="/generations/?range=custom&amp;start={day}&amp;end={day}&amp;tz=UTC&amp;model=acme%2Fspiky"' in table
    assert "tz=UTC&amp;key=sha256%3A5p1k3d0000000000000000" in table
    assert "more than 3× the median of its 14 days before and more than $5.00" in page
