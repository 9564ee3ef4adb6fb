"""evaluate_budgets and delivery: thresholds, once-only, the outbox's retries, signatures, secrets."""

import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from budgets import senders
from budgets.models import Budget, Channel, Notification
from budgets.services import budget_evaluate, budgets_evaluate, channel_send_test, notifications_deliver
from tests.budgets.conftest import NOW, USD, run_concurrently

pytestmark = pytest.mark.django_db


def states() -> list[tuple[str, int, str]]:
    return sorted(Notification.objects.filter(kind="threshold").values_list("kind", "threshold", "state"))


def crossed(enqueued: list[Notification]) -> list[int]:
    """The thresholds these notifications announce (a forecast alert may come with them)."""
    return [n.threshold for n in enqueued if n.kind == "threshold"]


def test_reaching_exactly_100_percent_sends_one_alert_naming_100(make_budget, email_channel, spend):
    # $10 budget, $10 spent at once: 50, 80 and 100 % crossed together.
    budget = make_budget(channels=[email_channel], amount_pico=10 * USD)
    spend(10 * USD)
    enqueued = budgets_evaluate(now=NOW)
    assert [(n.kind, n.threshold) for n in enqueued] == [("threshold", 100)]
    assert states() == [("threshold", 50, "covered"), ("threshold", 80, "covered"), ("threshold", 100, "pending")]
    report = notifications_deliver(now=NOW)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [message] = mail.outbox
    assert message.to == ["pay@example.com"]
    assert message.subject == "Budget “All spend”: 100 % reached (100.0 % spent)"
    assert "Spent: $10.00 of $10.00 (100.0 %)" in message.body
    assert f"/budgets/{budget.pk}/" in message.body
    # Again, and after a restart (a new evaluation): nothing more.
    assert budgets_evaluate(now=NOW + timedelta(minutes=5)) == []
    assert notifications_deliver(now=NOW + timedelta(minutes=5)).sent == 0


def test_one_pico_short_of_100_percent_names_80(make_budget, email_channel, spend):
    make_budget(channels=[email_channel], amount_pico=10 * USD)
    spend(10 * USD - 1)
    assert crossed(budgets_evaluate(now=NOW)) == [80]
    spend(1, at=datetime(2025, 10, 15, 11, 0, tzinfo=UTC))
    assert crossed(budgets_evaluate(now=NOW)) == [100]
    assert states() == [("threshold", 50, "covered"), ("threshold", 80, "pending"), ("threshold", 100, "pending")]


def test_a_new_period_alerts_again(make_budget, email_channel, spend):
    make_budget(channels=[email_channel])
    spend(6 * USD)
    spend(6 * USD, at=datetime(2025, 11, 3, 9, 0, tzinfo=UTC))
    assert crossed(budgets_evaluate(now=NOW)) == [50]
    assert crossed(budgets_evaluate(now=datetime(2025, 11, 3, 12, 0, tzinfo=UTC))) == [50]
    assert sorted(Notification.objects.filter(kind="threshold").values_list("period_start", flat=True)) == [
        datetime(2025, 9, 30, 22, 0, tzinfo=UTC),
        datetime(2025, 10, 31, 23, 0, tzinfo=UTC),
    ]


def test_the_forecast_going_over_alerts_once_per_period(make_budget, email_channel, spend):
    # $1 a day for 14 days, $0.50 so far today: ~$31 forecast for a $20 budget.
    make_budget(channels=[email_channel], amount_pico=20 * USD, thresholds=[100])
    for day in range(1, 15):
        spend(USD, at=datetime(2025, 10, day, 9, 0, tzinfo=UTC))
    spend(USD // 2, at=datetime(2025, 10, 15, 8, 0, tzinfo=UTC))
    [alert] = budgets_evaluate(now=NOW)
    assert alert.kind == "forecast"
    payload = alert.payload
    assert payload["spent"] == "14.50"
    # 14:00 in Berlin: 10/24 of the day left, then 16 days, at the median $1.
    assert payload["forecast"] == "30.916666666667"
    assert payload["run_out_date"] == "2025-10-21"
    assert payload["status"] == "forecast over"
    assert payload["period_start"] == "2025-10-01T00:00:00+02:00"
    assert payload["period_end"] == "2025-11-01T00:00:00+01:00"
    assert budgets_evaluate(now=NOW + timedelta(hours=1)) == []


def test_a_period_reset_is_announced_only_when_asked_and_for_budgets_older_than_the_period(
    make_budget, email_channel, spend
):
    older = datetime(2025, 9, 20, tzinfo=UTC)
    make_budget(name="asks", channels=[email_channel], notify_reset=True, created_at=older)
    make_budget(name="does not ask", channels=[email_channel], created_at=older)
    make_budget(name="too new", channels=[email_channel], notify_reset=True, created_at=NOW)
    spend(3 * USD, at=datetime(2025, 9, 25, 9, 0, tzinfo=UTC))
    enqueued = budgets_evaluate(now=NOW)
    assert [(n.budget_name, n.kind) for n in enqueued] == [("asks", "reset")]
    assert enqueued[0].payload["previous_period_spent"] == "3.00"
    assert budgets_evaluate(now=NOW) == []


def test_each_channel_hears_once(make_budget, email_channel, spend):
    other = Channel.objects.create(name="other", kind=Channel.EMAIL, recipients=["b@example.com"])
    make_budget(channels=[email_channel, other])
    spend(10 * USD)
    assert sorted(n.channel_name for n in budgets_evaluate(now=NOW)) == ["finance", "other"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluators_enqueue_each_alert_once(make_budget, email_channel, spend):
    budget = make_budget(channels=[email_channel])
    spend(10 * USD)
    results = run_concurrently(lambda: budget_evaluate(budget=Budget.objects.get(pk=budget.pk), now=NOW))
    assert sorted(len(result) for result in results) == [0, 1]
    assert states() == [("threshold", 50, "covered"), ("threshold", 80, "covered"), ("threshold", 100, "pending")]


# ---------------------------------------------------------------------------------------------
# Delivery


@pytest.fixture
def webhook(hook_server, monkeypatch) -> Channel:
    monkeypatch.setenv("OPS_HOOK_SECRET", "hook-secret-never-shown")
    return Channel.objects.create(
        name="ops-hook", kind=Channel.WEBHOOK, url=hook_server.url + "/hook", secret_env="OPS_HOOK_SECRET"
    )


def test_a_webhook_failing_twice_is_retried_with_backoff_until_it_succeeds(make_budget, webhook, hook_server, spend):
    hook_server.statuses = [503, 500]
    make_budget(channels=[webhook])
    spend(10 * USD)
    [notification] = budgets_evaluate(now=NOW)
    assert notifications_deliver(now=NOW).retrying == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.last_error) == ("pending", 1, "HTTP 503")
    assert notification.next_attempt_at == NOW + timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert notifications_deliver(now=NOW + timedelta(seconds=29)).retrying == 0
    later = NOW + timedelta(seconds=30)
    assert notifications_deliver(now=later).retrying == 1
    notification.refresh_from_db()
    assert (notification.attempts, notification.last_error) == (2, "HTTP 500")
    assert notification.next_attempt_at == later + timedelta(seconds=60)
    assert notifications_deliver(now=later + timedelta(seconds=60)).sent == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.last_error) == ("sent", 3, "")
    assert len(hook_server.received) == 3
    headers, body = hook_server.received[-1]
    assert json.loads(body) == notification.payload
    assert senders.signature_valid(
        b"hook-secret-never-shown", headers["X-FastRouter-Dash-Timestamp"], body, headers["X-FastRouter-Dash-Signature"]
    )


def test_the_signature_covers_the_timestamp_and_every_byte_of_the_body():
    secret, body = b"s3cret", b'{"spent":"1.00"}'
    header = senders.signature(secret, "1760529600", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert senders.signature_valid(secret, "1760529600", body, header)
    assert not senders.signature_valid(secret, "1760529601", body, header)  # a replayed request, new time
    assert not senders.signature_valid(secret, "1760529600", b'{"spent":"1.01"}', header)
    assert not senders.signature_valid(b"other", "1760529600", body, header)
    # A receiver can check it with nothing but the documented recipe.
    import hashlib
    import hmac

    expected = hmac.new(secret, b"1760529600." + body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"


def test_a_refused_connection_is_retried_and_a_4xx_gives_up(make_budget, hook_server, spend, monkeypatch):
    monkeypatch.setenv("SECRET", "x")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = Channel.objects.create(
        name="refused", kind=Channel.WEBHOOK, url=f"http://127.0.0.1:{port}/", secret_env="SECRET"
    )
    gone = Channel.objects.create(name="gone", kind=Channel.SLACK, url=hook_server.url + "/gone")
    hook_server.statuses = [404]
    make_budget(channels=[refused, gone])
    spend(10 * USD)
    budgets_evaluate(now=NOW)
    report = notifications_deliver(now=NOW)
    assert (report.retrying, report.failed) == (1, 1)
    assert dict(Notification.objects.values_list("channel_name", "last_error")) == {
        "refused": "connection refused",
        "gone": "HTTP 404",
    }
    assert dict(Notification.objects.values_list("channel_name", "state")) == {"refused": "pending", "gone": "failed"}


def test_a_silent_server_times_out(make_budget, webhook, settings, spend):
    settings.BUDGET_SEND_TIMEOUT = 0.3
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        webhook.url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        webhook.save()
        make_budget(channels=[webhook])
        spend(10 * USD)
        budgets_evaluate(now=NOW)
        assert notifications_deliver(now=NOW).retrying == 1
    assert Notification.objects.get(kind="threshold", state="pending").last_error == "no answer within 0.3 s"


def test_a_missing_secret_variable_is_named_and_retried(make_budget, webhook, spend, monkeypatch):
    monkeypatch.delenv("OPS_HOOK_SECRET")
    make_budget(channels=[webhook])
    spend(10 * USD)
    budgets_evaluate(now=NOW)
    assert notifications_deliver(now=NOW).retrying == 1
    assert Notification.objects.get(state="pending").last_error == (
        "the environment variable OPS_HOOK_SECRET (the channel's signing secret) is not set"
    )


def test_slack_gets_the_alert_as_text(make_budget, hook_server, spend, monkeypatch):
    monkeypatch.setenv("TEAM_SLACK_URL", hook_server.url + "/services/T000/B000/XXXXSECRET")
    slack = Channel.objects.create(name="team-slack", kind=Channel.SLACK, url_env="TEAM_SLACK_URL")
    make_budget(channels=[slack])
    spend(10 * USD)
    budgets_evaluate(now=NOW)
    assert notifications_deliver(now=NOW).sent == 1
    [(headers, body)] = hook_server.received
    assert json.loads(body)["text"].startswith("Budget “All spend”: 100 % reached (100.0 % spent)")
    assert "X-FastRouter-Dash-Signature" not in headers


def test_no_secret_reaches_pages_logs_or_errors(make_budget, hook_server, spend, monkeypatch, caplog, staff_client):
    token = "XXXX-slack-token-never-shown"
    monkeypatch.setenv("TEAM_SLACK_URL", f"{hook_server.url}/services/{token}")
    monkeypatch.setenv("HOOK_SECRET", "hmac-secret-never-shown")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    slack = Channel.objects.create(name="team-slack", kind=Channel.SLACK, url_env="TEAM_SLACK_URL")
    hook = Channel.objects.create(
        name="hook", kind=Channel.WEBHOOK, url=f"http://127.0.0.1:{port}/in/{token}", secret_env="HOOK_SECRET"
    )
    hook_server.statuses = [500, 500]
    budget = make_budget(channels=[slack, hook])
    spend(5 * USD, at=datetime.now(UTC) - timedelta(minutes=1))
    caplog.set_level(logging.DEBUG)
    out = StringIO()
    call_command("evaluate_budgets", stdout=out)
    channel_send_test(channel=slack, now=NOW)
    pages = "".join(
        staff_client.get(url).content.decode() for url in ("/budgets/", f"/budgets/{budget.pk}/", "/budgets/alerts/")
    )
    errors = " ".join(Notification.objects.values_list("last_error", flat=True))
    assert "HTTP 500" in errors and "connection refused" in errors
    for secret in (token, "hmac-secret-never-shown"):
        assert secret not in pages
        assert secret not in caplog.text
        assert secret not in errors
        assert secret not in out.getvalue()
    assert "http://127.0.0.1/…" in pages  # the hook's scheme and host only


def test_evaluate_budgets_enqueues_and_delivers(make_budget, email_channel, spend):
    make_budget(channels=[email_channel])
    spend(10 * USD, at=datetime.now(UTC) - timedelta(minutes=1))
    out = StringIO()
    call_command("evaluate_budgets", stdout=out)
    assert out.getvalue() == "1 notification enqueued; sent 1, retrying 0, failed 0\n"
    assert len(mail.outbox) == 1
    out = StringIO()
    call_command("evaluate_budgets", stdout=out)
    assert out.getvalue() == "0 notifications enqueued; sent 0, retrying 0, failed 0\n"


def test_a_channel_test_is_sent_once_and_recorded(email_channel):
    notification = channel_send_test(channel=email_channel, now=NOW)
    assert (notification.state, notification.kind, notification.budget) == ("sent", "test", None)
    assert mail.outbox[0].subject == "FastRouter Dash: test message"


class StopLoop(BaseException):
    pass


def test_the_schedule_survives_a_failing_round(monkeypatch, caplog):
    from budgets.management.commands import evaluate_budgets

    rounds = []

    def failing_first(*, now):
        rounds.append(now)
        if len(rounds) == 1:
            raise RuntimeError("database restarting")
        return []

    def sleep(seconds):
        assert seconds == 300
        if len(rounds) == 2:
            raise StopLoop

    monkeypatch.setattr(evaluate_budgets, "budgets_evaluate", failing_first)
    monkeypatch.setattr(evaluate_budgets.time, "sleep", sleep)
    # Between rounds the command drops stale connections; here that would close the test's transaction.
    monkeypatch.setattr(evaluate_budgets, "close_old_connections", lambda: None)
    out = StringIO()
    with pytest.raises(StopLoop):
        call_command("evaluate_budgets", "--every", "300", stdout=out)
    assert len(rounds) == 2
    assert "Evaluating budgets failed; trying again in 300 s" in caplog.text
    assert out.getvalue().startswith("0 notifications enqueued")
