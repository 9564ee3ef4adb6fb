"""Stored generations and everything that feeds or labels them.

The hot `Generation` row holds only typed, indexed columns the dashboards read; the bulky
request/response bodies and the exact upstream payload live in `GenerationBody` (1:1), so
no analytics query ever reads them.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

# The sub-packages' models belong to this app too (Django finds the app by module path) but register only
# when their module is imported: importing them here keeps one app, one migration history, the same tables.
from generations.analytics import models as analytics_models  # noqa: F401
from generations.fastrouter import models as fastrouter_models  # noqa: F401
from generations.ingest import models as ingest_models  # noqa: F401
from generations.ingest.tags import MAX_KEY_LENGTH, MAX_VALUE_LENGTH


class Generation(models.Model):
    generation_id = models.CharField("generation id", max_length=256, unique=True)
    model = models.CharField(max_length=200, blank=True, default="")
    provider = models.CharField(max_length=100, blank=True, default="")
    api_key_hash = models.CharField("API key hash", max_length=200, blank=True, default="")
    endpoint = models.CharField(max_length=200, blank=True, default="")
    is_byok = models.BooleanField("BYOK", null=True)

    # Money as integer pico-units (see money.py). `cost_pico` is what the dashboards sum:
    # usage.cost when FastRouter sends it, else credits_used (FastRouter credits are USD).
    credits_used_pico = models.BigIntegerField(null=True)
    usage_cost_pico = models.BigIntegerField(null=True)
    cost_pico = models.BigIntegerField(null=True)

    input_tokens = models.BigIntegerField(null=True)
    output_tokens = models.BigIntegerField(null=True)
    total_tokens = models.BigIntegerField(null=True)

    # FastRouter's own figures, kept as sent.
    avg_response_time_minutes = models.FloatField(null=True)
    avg_tokens_per_nano = models.FloatField(null=True)

    query_time = models.DateTimeField(null=True)
    upstream_created_at = models.DateTimeField("created at (FastRouter)", null=True)
    started_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    duration_ms = models.BigIntegerField("duration (ms)", null=True)

    # Derived once on save. `occurred_at` is the time every chart buckets by.
    occurred_at = models.DateTimeField()
    latency_ms = models.FloatField("latency (ms)", null=True)
    output_tokens_per_second = models.FloatField(null=True)
    # Histogram bins (see histograms.py) so percentiles are a GROUP BY, not a sort.
    latency_bin = models.SmallIntegerField(null=True)
    throughput_bin = models.SmallIntegerField(null=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at", "id"], name="gen_occurred_idx"),
            models.Index(fields=["model", "occurred_at"], name="gen_model_time_idx"),
            models.Index(fields=["provider", "occurred_at"], name="gen_provider_time_idx"),
            models.Index(fields=["api_key_hash", "occurred_at"], name="gen_key_time_idx"),
            models.Index(fields=["endpoint", "occurred_at"], name="gen_endpoint_time_idx"),
            models.Index(Upper("model"), name="gen_model_upper_idx"),
        ]
        # The roles (generations/roles.py): reading needs only a login; these spend FastRouter quota.
        permissions = [
            ("fetch_generations", "Look up new ids, refresh and import"),
            ("fetch_unlimited", "Fetch without the member daily limit"),
        ]

    def __str__(self) -> str:
        return self.generation_id


class GenerationBody(models.Model):
    generation = models.OneToOneField(Generation, primary_key=True, on_delete=models.CASCADE, related_name="body")
    request = models.JSONField(null=True)
    response = models.JSONField(null=True)
    metadata = models.JSONField(null=True)
    # The exact response text: unknown fields and every digit of money survive here.
    raw_payload = models.TextField(blank=True, default="")
    bodies_truncated = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Body of {self.generation_id}"


class GenerationTag(models.Model):
    """A tag the application handed over with the id (feature=search), copied from its lookup request
    when the generation is stored: what tag filters and cost by tag read. A table of its own keeps
    Generation's hot row lean."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.CharField(max_length=MAX_VALUE_LENGTH)
    # The generation's own `occurred_at`, kept equal on every store: a tag filter reads one tag's
    # generations of a time range from the index below (a tenth of the range's rows for a common
    # tag) instead of testing every generation of the range (docs/rollup-grains.md).
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["generation", "key"], name="generation_tag_unique_key")]
        indexes = [
            models.Index(fields=["key", "value", "occurred_at", "generation"], name="generation_tag_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class KeyLabel(models.Model):
    """A human name (and team) for an API key hash, set by staff in the admin."""

    api_key_hash = models.CharField("API key hash", max_length=200, unique=True)
    name = models.CharField(max_length=100)
    team = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.team})" if self.team else self.name


class ViewerPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="viewer_preference")
    time_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class DailyFetchUsage(models.Model):
    """How many ids a user fetched or queued on one day, against MEMBER_DAILY_FETCH_LIMIT."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    day = models.DateField(help_text="In the site's TIME_ZONE.")
    ids = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="fetch_usage_user_day_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.day}: {self.ids} ids"
