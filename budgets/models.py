"""Budgets, the channels that hear about them, and the outbox of notifications.

Money is integer pico-units (`amount_pico`), as everywhere in the project. Secrets are never
stored: a channel names the environment variables that hold its HMAC secret or its URL.
"""

from urllib.parse import urlsplit

from django.db import models

from generations.money import InUsd

DEFAULT_THRESHOLDS = (50, 80, 100)


def default_thresholds() -> list[int]:
    return list(DEFAULT_THRESHOLDS)


class NamedByConfig(models.Model):
    """A channel or a budget: budgets.toml and the pages know each by its name, so a name is one row."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(NamedByConfig):
    WEBHOOK, SLACK, EMAIL = "webhook", "slack", "email"
    KINDS = [(WEBHOOK, "Webhook (signed JSON POST)"), (SLACK, "Slack incoming webhook"), (EMAIL, "Email")]

    kind = models.CharField(max_length=10, choices=KINDS)
    # A URL may carry a token (every Slack webhook URL does): then name the variable holding it in
    # `url_env` instead. Pages only ever show a URL's scheme and host.
    url = models.URLField(max_length=500, blank=True)
    url_env = models.CharField(max_length=100, blank=True)
    recipients = models.JSONField(default=list, blank=True)  # email addresses
    secret_env = models.CharField(max_length=100, blank=True)  # the webhook's HMAC secret
    # Besides its budgets' alerts, a channel may hear of spend anomalies and get the weekly digest.
    anomalies = models.BooleanField(default=False)
    digest = models.BooleanField(default=False)  # email and Slack only

    @property
    def shown_target(self) -> str:
        """Where it sends, safe to show: the recipients, or a URL's scheme and host only."""
        if self.kind == self.EMAIL:
            return ", ".join(self.recipients)
        if self.url_env:
            return f"the URL in ${self.url_env}"
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}/…"


class Budget(NamedByConfig):
    SCOPE_KINDS = ("all", "team", "key", "model", "provider")
    MONTH, WEEK, DAY, ROLLING30 = "month", "week", "day", "rolling30"
    PERIODS = [(MONTH, "Calendar month"), (WEEK, "Week (from Monday)"), (DAY, "Day"), (ROLLING30, "Rolling 30 days")]

    scope_kind = models.CharField(max_length=10, choices=[(kind, kind) for kind in SCOPE_KINDS], default="all")
    scope_value = models.CharField(max_length=200, blank=True)  # empty for "all"
    amount_pico = models.BigIntegerField()
    period = models.CharField(max_length=10, choices=PERIODS, default=MONTH)
    zone = models.CharField(max_length=64, default="UTC")
    thresholds = models.JSONField(default=default_thresholds)  # percentages, ascending
    notify_reset = models.BooleanField(default=False)
    channels = models.ManyToManyField(Channel, blank=True, related_name="budgets")

    amount = InUsd("amount_pico")

    @property
    def scope(self) -> str:
        """The scope as the TOML file writes it: "all", "team:NAME", "model:NAME", …"""
        return self.scope_kind if self.scope_kind == "all" else f"{self.scope_kind}:{self.scope_value}"


class Notification(models.Model):
    """One message for one channel: the outbox row delivery works through, and the alert history.

    The unique constraint is the "once per budget, period and threshold" guarantee: an evaluator
    sends only what it managed to insert, so restarts and concurrent evaluators never repeat one.
    `threshold` is 0, not NULL, for kinds without one (NULLs never collide in a unique constraint).
    Anomalies and digests have no budget: a second constraint makes them once per `scope`
    ("model:NAME", "key:HASH"; "all" for the digest), day or week (`period_start`) and channel.
    """

    THRESHOLD, FORECAST, RESET, ANOMALY, DIGEST, TEST = "threshold", "forecast", "reset", "anomaly", "digest", "test"
    # Not about one budget: once per scope and day (anomaly) or per week (digest), by `report_notification_once`.
    REPORTS = (ANOMALY, DIGEST)
    KINDS = [
        (THRESHOLD, "Threshold crossed"),
        (FORECAST, "Forecast over budget"),
        (RESET, "Period reset"),
        (ANOMALY, "Anomaly"),
        (DIGEST, "Weekly digest"),
        (TEST, "Test"),
    ]
    PENDING, SENT, FAILED, COVERED = "pending", "sent", "failed", "covered"
    STATES = [
        (PENDING, "Pending"),
        (SENT, "Sent"),
        (FAILED, "Failed"),
        # A lower threshold crossed together with a higher one: counted as sent, the higher one's
        # message names it.
        (COVERED, "Covered by a higher threshold"),
    ]

    # Kept (SET_NULL, with the names) when a budget or channel is removed: the history stays.
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    budget_name = models.CharField(max_length=100, blank=True)
    channel = models.ForeignKey(Channel, null=True, on_delete=models.SET_NULL, related_name="notifications")
    channel_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=KINDS)
    period_start = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=210, blank=True)  # an anomaly's or digest's; budgets' alerts: ""
    threshold = models.PositiveSmallIntegerField(default=0)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)  # written by budgets/delivery.py: never a URL or secret
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "kind", "threshold", "channel"], name="budget_notification_once"
            ),
            models.UniqueConstraint(
                fields=["kind", "scope", "period_start", "channel"],
                condition=models.Q(kind__in=["anomaly", "digest"]),  # Notification.REPORTS
                name="report_notification_once",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="budget_outbox_due")]

    def __str__(self) -> str:
        about = self.budget_name or self.scope or "a channel test"
        return f"{self.get_kind_display()} for {about} to {self.channel_name}"
