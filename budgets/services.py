"""Budget services: evaluating budgets into the outbox, and delivering the outbox.

Once only: every notification is first an INSERT into `Notification`, whose unique constraint
(budget, period start, kind, threshold, channel) lets exactly one evaluator in, across restarts and
concurrent evaluators; the one whose insert succeeded is the one that enqueued it.

Delivery claims a due row with a conditional UPDATE (a lease: its next attempt moves past the
send's timeout), so two delivery loops never send the same row at once; a failed send is retried
with doubling waits and stays on the history page with its error.
"""

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F

from budgets import messages, senders
from budgets.anomalies import NOTIFIED_DAYS, recent_anomalies
from budgets.digest import digest_payload, last_full_week, weekly_digest
from budgets.models import Budget, Channel, Notification
from budgets.periods import current_period, local_midnight
from budgets.selectors import BudgetStatus, budget_status
from budgets.spend import daily_spend

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT = timedelta(hours=1)
DIGEST_KINDS = (Channel.EMAIL, Channel.SLACK)  # a digest is text for people


def _enqueue(
    *,
    budget: Budget | None,
    channel: Channel,
    kind: str,
    period_start: datetime,
    threshold: int,
    payload: dict,
    now: datetime,
    state: str = Notification.PENDING,
    scope: str = "",
) -> Notification | None:
    """The new notification, or None when one with the same key exists (sent or being sent)."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                budget=budget,
                budget_name=budget.name if budget else "",
                scope=scope,
                channel=channel,
                channel_name=channel.name,
                kind=kind,
                period_start=period_start,
                threshold=threshold,
                payload=payload,
                state=state,
                next_attempt_at=now,
            )
    except IntegrityError:
        return None


def budget_evaluate(*, budget: Budget, now: datetime) -> list[Notification]:
    """Enqueue what this budget's figures call for; the notifications this call enqueued."""
    channels = list(budget.channels.all())
    if not channels:
        return []
    status = budget_status(budget, now=now)
    outlook, period = status.forecast, status.period
    crossed = [t for t in budget.thresholds if outlook.spent_pico * 100 >= t * outlook.amount_pico]
    enqueued = []
    for channel in channels:
        key = {"budget": budget, "channel": channel, "period_start": period.alert_start, "now": now}
        if crossed:
            highest = max(crossed)
            payload = messages.alert_payload(status, event="threshold", threshold=highest, now=now)
            sent = _enqueue(kind=Notification.THRESHOLD, threshold=highest, payload=payload, **key)
            if sent:
                enqueued.append(sent)
                # The lower thresholds count as sent: this message names the highest.
                for lower in crossed:
                    if lower != highest:
                        covered = {"covered_by": highest}
                        _enqueue(
                            kind=Notification.THRESHOLD,
                            threshold=lower,
                            payload=covered,
                            state=Notification.COVERED,
                            **key,
                        )
        if outlook.spent_pico < outlook.amount_pico < outlook.forecast_pico:
            payload = messages.alert_payload(status, event="forecast", threshold=None, now=now)
            enqueued.append(_enqueue(kind=Notification.FORECAST, threshold=0, payload=payload, **key))
        if budget.notify_reset and period.resets and budget.created_at < period.start:
            payload = messages.alert_payload(
                status, event="reset", threshold=None, now=now, previous_spent=_previous_period_spent(status)
            )
            enqueued.append(_enqueue(kind=Notification.RESET, threshold=0, payload=payload, **key))
    return [notification for notification in enqueued if notification]


def _previous_period_spent(status: BudgetStatus) -> int:
    budget, period = status.budget, status.period
    previous = current_period(budget.period, period.zone, period.start - timedelta(seconds=1))
    spend = daily_spend(
        scope_kind=budget.scope_kind,
        scope_value=budget.scope_value,
        start=previous.start,
        end=previous.end,
        zone=period.zone,
    )
    return sum(spend.values())


def budgets_evaluate(*, now: datetime) -> list[Notification]:
    enqueued = []
    for budget in Budget.objects.prefetch_related("channels"):
        enqueued += budget_evaluate(budget=budget, now=now)
    return enqueued


def anomalies_evaluate(*, now: datetime) -> list[Notification]:
    """Enqueue today's and yesterday's anomalies for the channels that hear of them, each once per
    scope, day and channel (older ones are only listed: a first run does not send a week of them)."""
    channels = list(Channel.objects.filter(anomalies=True))
    if not channels:
        return []
    enqueued = []
    for anomaly in recent_anomalies(now=now, listed_days=NOTIFIED_DAYS):
        payload = messages.anomaly_payload(anomaly, now=now)
        day_start = local_midnight(anomaly.day, ZoneInfo(anomaly.zone))
        for channel in channels:
            enqueued.append(
                _enqueue(
                    budget=None,
                    channel=channel,
                    kind=Notification.ANOMALY,
                    scope=anomaly.scope,
                    period_start=day_start,
                    threshold=0,
                    payload=payload,
                    now=now,
                )
            )
    return [notification for notification in enqueued if notification]


def digest_enqueue(*, now: datetime) -> list[Notification]:
    """Enqueue the last full week's digest for each digest channel that has not had it: once per
    week and channel. The digest is computed only when some channel still needs it."""
    zone = ZoneInfo(settings.BUDGET_REPORT_ZONE)
    week_start = local_midnight(last_full_week(now, zone)[0], zone)
    had = Notification.objects.filter(
        kind=Notification.DIGEST, period_start=week_start, channel__isnull=False
    ).values_list("channel", flat=True)
    channels = list(Channel.objects.filter(digest=True, kind__in=DIGEST_KINDS).exclude(pk__in=list(had)))
    if not channels:
        return []
    payload = digest_payload(weekly_digest(now=now), now=now)
    enqueued = [
        _enqueue(
            budget=None,
            channel=channel,
            kind=Notification.DIGEST,
            scope="all",
            period_start=week_start,
            threshold=0,
            payload=payload,
            now=now,
        )
        for channel in channels
    ]
    return [notification for notification in enqueued if notification]


# ---------------------------------------------------------------------------------------------
# Delivery


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_wait(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: the base, doubled each time, at most an hour."""
    return min(timedelta(seconds=settings.BUDGET_RETRY_BASE_SECONDS * 2 ** (attempts - 1)), MAX_RETRY_WAIT)


def _send(notification: Notification) -> None:
    channel = notification.channel
    if channel is None:
        raise senders.SendFailed("the channel was removed", permanent=True)
    payload = notification.payload
    if channel.kind == Channel.EMAIL:
        try:
            send_mail(
                messages.subject(payload),
                messages.text(payload),
                settings.DEFAULT_FROM_EMAIL,
                channel.recipients,
            )
        except (OSError, ValueError) as error:  # smtplib's errors (OSErrors), a refused connection, a bad header
            # The class, not the text: an SMTP server's answer may quote the login.
            raise senders.SendFailed(f"email not accepted ({type(error).__name__})") from None
        return
    url = _from_environment(channel.url_env, "URL") if channel.url_env else channel.url
    timeout = settings.BUDGET_SEND_TIMEOUT
    if channel.kind == Channel.SLACK:
        body = json.dumps({"text": messages.text(payload)}).encode()
        senders.post_json(url, body, timeout=timeout)
        return
    secret = _from_environment(channel.secret_env, "signing secret").encode()
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    senders.post_json(
        url,
        body,
        timeout=timeout,
        headers={
            senders.TIMESTAMP_HEADER: timestamp,
            senders.SIGNATURE_HEADER: senders.signature(secret, timestamp, body),
        },
    )


def _from_environment(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        # Retried: setting the variable and restarting fixes it.
        raise senders.SendFailed(f"the environment variable {name} (the channel's {what}) is not set")
    return value


def notification_deliver(*, notification_id: int, now: datetime, retry: bool = True) -> str | None:
    """Try one due notification if this process claims it; its state after, or None if not claimed."""
    lease = now + timedelta(seconds=settings.BUDGET_SEND_TIMEOUT + 60)
    claimed = Notification.objects.filter(
        pk=notification_id, state=Notification.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease, attempts=F("attempts") + 1)
    if not claimed:
        return None
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    try:
        _send(notification)
    except senders.SendFailed as failure:
        gave_up = failure.permanent or not retry or notification.attempts >= settings.BUDGET_DELIVERY_MAX_ATTEMPTS
        notification.state = Notification.FAILED if gave_up else Notification.PENDING
        notification.last_error = failure.message
        notification.next_attempt_at = now + retry_wait(notification.attempts)
        logger.warning(
            "Notification %s to channel %s failed (attempt %s): %s%s",
            notification.pk,
            notification.channel_name,
            notification.attempts,
            failure.message,
            "; giving up" if gave_up else "; will retry",
        )
    else:
        notification.state = Notification.SENT
        notification.sent_at = now
        notification.last_error = ""
    notification.save(update_fields=["state", "last_error", "next_attempt_at", "sent_at"])
    return notification.state


def notifications_deliver(*, now: datetime, limit: int = 200) -> DeliveryReport:
    report = DeliveryReport()
    due = Notification.objects.filter(state=Notification.PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )
    for notification_id in list(due.values_list("pk", flat=True)[:limit]):
        state = notification_deliver(notification_id=notification_id, now=now)
        if state == Notification.SENT:
            report.sent += 1
        elif state == Notification.PENDING:
            report.retrying += 1
        elif state == Notification.FAILED:
            report.failed += 1
    return report


def channel_send_test(*, channel: Channel, now: datetime) -> Notification:
    """Send a test message now, once (no retry), recorded in the alert history."""
    notification = Notification.objects.create(
        channel=channel,
        channel_name=channel.name,
        kind=Notification.TEST,
        payload=messages.test_payload(channel_name=channel.name, now=now),
        next_attempt_at=now,
    )
    notification_deliver(notification_id=notification.pk, now=now, retry=False)
    notification.refresh_from_db()
    return notification
