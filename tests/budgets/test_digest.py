"""The weekly digest: last full week against the week before, with the dashboard's figures, sent
once per week and channel (send_digest and the evaluate_budgets schedule)."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction

from budgets.digest import digest_text, weekly_digest
from budgets.messages import dollars
from budgets.models import Budget, Channel, Notification
from budgets.selectors import budget_status
from budgets.services import digest_enqueue
from generations.analytics.dashboard import dashboard
from generations.analytics.filters import DashboardFilterForm
from generations.models import KeyLabel
from generations.money import from_pico
from tests.budgets.conftest import NOW, USD, run_concurrently

pytestmark = pytest.mark.django_db

WEB, BATCH, NEW_KEY = "sha256:web0000000000000000", "sha256:batch00000000000000", "sha256:n3wk3y00000000000000"
LAST_WEEK = datetime(2025, 10, 8, 9, 0, tzinfo=UTC)  # NOW is Wednesday 15 October: last week is 6–12 October
WEEK_BEFORE = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)

EXPECTED_TEXT = """\
FastRouter Dash weekly digest, Mon 6 Oct – Sun 12 Oct 2025 (UTC): $30.50 spent

Spend: $30.50, up $12.50 (+69.4 %) from $18.00 the week before
Generations: 5 (2 the week before)
Generations of unknown cost, not in the spend: 1 (0 the week before)

Top movers by model:
  openai/gpt-4o: $25.00, up $15.00 (+150.0 %) from $10.00
  anthropic/claude: $3.00, down $5.00 (-62.5 %) from $8.00
  new/model: $2.50, up $2.50 from $0.00
Top movers by key:
  Web app: $25.00, up $15.00 (+150.0 %) from $10.00
  Batch: $3.00, down $5.00 (-62.5 %) from $8.00
  sha256:n3wk3y0…0000: $2.50, up $2.50 from $0.00
Top movers by team:
  product: $25.00, up $15.00 (+150.0 %) from $10.00
  research: $3.00, down $5.00 (-62.5 %) from $8.00
  (no team): $2.50, up $2.50 from $0.00

New models: new/model
New keys: sha256:n3wk3y0…0000

Budgets at risk: 1
{risk}

http://127.0.0.1:8000/dashboard/?range=custom&start=2025-10-06&end=2025-10-12&tz=UTC"""


@pytest.fixture(autouse=True)
def report_zone(settings):
    settings.BUDGET_REPORT_ZONE = "UTC"
    settings.BUDGET_DIGEST_TOP = 5
    settings.SITE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def two_weeks(spend, make_budget):
    """The week before: $10 on gpt-4o (Web app, product), $8 on claude (Batch, research). Last week:
    $25 on gpt-4o, $3 on claude, $2.50 on a new model with a new key, one of unknown cost, and an
    old model seen in August; this week's spend counts in neither."""
    KeyLabel.objects.create(api_key_hash=WEB, name="Web app", team="product")
    KeyLabel.objects.create(api_key_hash=BATCH, name="Batch", team="research")
    spend(10 * USD, at=WEEK_BEFORE, model="openai/gpt-4o", api_key_hash=WEB)
    spend(8 * USD, at=WEEK_BEFORE, model="anthropic/claude", api_key_hash=BATCH)
    spend(20 * USD, at=LAST_WEEK, model="openai/gpt-4o", api_key_hash=WEB)
    spend(5 * USD, at=LAST_WEEK + timedelta(days=4, hours=14), model="openai/gpt-4o", api_key_hash=WEB)  # Sun 23:00
    spend(3 * USD, at=LAST_WEEK, model="anthropic/claude", api_key_hash=BATCH)
    spend(5 * USD // 2, at=LAST_WEEK, model="new/model", api_key_hash=NEW_KEY)
    spend(None, at=LAST_WEEK, model="old/model", api_key_hash=BATCH)  # of unknown cost
    spend(USD, at=datetime(2025, 8, 1, tzinfo=UTC), model="old/model", api_key_hash=BATCH)
    spend(100 * USD, at=datetime(2025, 10, 13, 0, 0, tzinfo=UTC), model="openai/gpt-4o", api_key_hash=WEB)
    spend(100 * USD, at=datetime(2025, 9, 28, 23, 59, tzinfo=UTC), model="openai/gpt-4o", api_key_hash=WEB)
    make_budget(
        name="Small", zone="UTC", amount_pico=20 * USD, period="week", created_at=datetime(2025, 9, 1, tzinfo=UTC)
    )
    make_budget(name="Roomy", zone="UTC", amount_pico=10_000 * USD)


def expected_text() -> str:
    """The text above, with the budget's line as its own page computes it (budget_status)."""
    small = budget_status(Budget.objects.get(name="Small"), now=NOW).forecast
    assert small.status == "over"
    risk = (
        f"  Small (all): over, {dollars(small.spent_pico)} spent of $20.00, "
        f"forecast {dollars(small.forecast_pico)}, ran out {small.run_out.isoformat()}"
    )
    return EXPECTED_TEXT.format(risk=risk)


def test_the_digest_says_what_changed_with_exact_money(two_weeks):
    digest = weekly_digest(now=NOW)
    assert (digest.first, digest.last) == (date(2025, 10, 6), date(2025, 10, 12))
    subject, text = digest_text(digest)
    assert subject == "FastRouter Dash weekly digest, Mon 6 Oct – Sun 12 Oct 2025 (UTC): $30.50 spent"
    assert text == expected_text()
    # Monday morning and Sunday night of this week name the same last week.
    for moment in (datetime(2025, 10, 13, 0, 0, tzinfo=UTC), datetime(2025, 10, 19, 23, 59, tzinfo=UTC)):
        assert weekly_digest(now=moment).first == date(2025, 10, 6)


def test_the_digest_figures_are_the_dashboards(two_weeks):
    digest = weekly_digest(now=NOW)
    form = DashboardFilterForm(
        {"range": "custom", "start": "2025-10-06", "end": "2025-10-12", "tz": "UTC"}, default_zone="UTC"
    )
    assert form.is_valid(), form.errors
    page = dashboard(form.filters())
    assert (digest.total.cost_pico, digest.total.requests, digest.total.unknown_cost_requests) == (
        page.totals.cost_pico,
        page.totals.requests,
        page.totals.unknown_cost_requests,
    )
    assert digest.previous.cost_pico == page.previous_totals.cost_pico
    assert digest.previous.requests == page.previous_totals.requests
    for slug, dimension in (("cost-by-model", "model"), ("cost-by-key", "key"), ("cost-by-team", "team")):
        chart = page.charts_by_slug[slug].data
        drawn = dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True))
        for mover in digest.movers[dimension]:
            assert drawn.get(mover.name, 0.0) == float(from_pico(mover.cost_pico)), (slug, mover)


def test_the_digest_goes_once_per_week_and_channel(two_weeks, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(digest=True)
    slack = Channel.objects.create(name="team-slack", kind=Channel.SLACK, url="http://127.0.0.1:9/x", digest=True)
    Channel.objects.create(name="quiet", kind=Channel.EMAIL, recipients=["q@example.com"])  # not asked
    enqueued = digest_enqueue(now=NOW)
    assert sorted((n.kind, n.scope, n.channel_name) for n in enqueued) == [
        ("digest", "all", "finance"),
        ("digest", "all", "team-slack"),
    ]
    assert {n.period_start for n in enqueued} == {datetime(2025, 10, 6, tzinfo=UTC)}
    # Later the same week, after a restart: nothing more; the week after: the next one.
    assert digest_enqueue(now=NOW + timedelta(days=2)) == []
    slack.delete()
    assert digest_enqueue(now=NOW + timedelta(hours=1)) == []
    [next_week] = digest_enqueue(now=NOW + timedelta(days=7))
    assert next_week.period_start == datetime(2025, 10, 13, tzinfo=UTC)


def test_a_second_digest_for_the_same_week_and_channel_is_refused_by_the_database(two_weeks, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(digest=True)
    [sent] = digest_enqueue(now=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            kind="digest",
            scope="all",
            period_start=sent.period_start,
            channel=sent.channel,
            channel_name="finance",
            next_attempt_at=NOW,
        )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluators_enqueue_the_digest_once(two_weeks, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(digest=True)
    results = run_concurrently(lambda: digest_enqueue(now=NOW))
    assert sorted(len(result) for result in results) == [0, 1]
    assert Notification.objects.filter(kind="digest").count() == 1


def test_send_digest_mails_it_once(two_weeks, email_channel, monkeypatch):
    Channel.objects.filter(pk=email_channel.pk).update(digest=True)
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    out = StringIO()
    call_command("send_digest", stdout=out)
    assert "1 digest enqueued" in out.getvalue() and "sent 1" in out.getvalue()
    [message] = mail.outbox
    assert message.subject == "FastRouter Dash weekly digest, Mon 6 Oct – Sun 12 Oct 2025 (UTC): $30.50 spent"
    assert message.body == expected_text()
    call_command("send_digest", stdout=StringIO())
    call_command("evaluate_budgets", stdout=StringIO())  # the schedule: the same once-only
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(kind="digest").count() == 1


def test_money_in_the_text_is_exact_with_thousands_grouped():
    assert dollars(1_234_567_891_234_567_891) == "$1,234,567.891234567891"
    assert (dollars(-5 * USD // 2), dollars(0), dollars(4_731_000_000)) == ("-$2.50", "$0.00", "$0.004731")


def test_send_digest_dry_run_prints_and_sends_nothing(two_weeks, email_channel, monkeypatch):
    Channel.objects.filter(pk=email_channel.pk).update(digest=True)
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    out = StringIO()
    call_command("send_digest", "--dry-run", stdout=out)
    assert out.getvalue() == expected_text() + "\n"
    assert not Notification.objects.exists() and not mail.outbox
