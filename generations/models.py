"""Stored generations and everything that feeds or labels them.

The hot `Generation` row holds only typed, indexed columns the dashboards read; the bulky
request/response bodies and the exact upstream payload live in `GenerationBody` (1:1), so
no analytics query ever reads them.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper


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


class RollupMeasures(models.Model):
    """Exact sums over the generations of one rollup bucket (see rollups.py).

    Unknown costs are counted, never summed as 0, so totals from rollups and from raw rows
    say the same thing.
    """

    bucket_start = models.DateTimeField()
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    is_byok = models.BooleanField(null=True)
    requests = models.BigIntegerField()
    cost_pico = models.BigIntegerField()
    cost_unknown = models.BigIntegerField()
    credits_used_pico = models.BigIntegerField()
    credits_unknown = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()

    class Meta:
        abstract = True


class HourlyRollup(RollupMeasures):
    """One UTC hour × (model, provider, endpoint, BYOK): time series in any whole-hour zone."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_hour_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d %H:00} {self.model}"


class DailyRollup(RollupMeasures):
    """One UTC day × (model, provider, endpoint, BYOK): the whole days of a range when no key is involved."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_day_low_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d} {self.model}"


class DailyKeyRollup(RollupMeasures):
    """One UTC day × (API key, model, provider, endpoint, BYOK): totals and everything per key."""

    api_key_hash = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["bucket_start", "api_key_hash"], name="rollup_day_idx"),
            models.Index(fields=["api_key_hash", "bucket_start"], name="rollup_day_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d} {self.api_key_hash} {self.model}"


class RollupBin(models.Model):
    """Histogram counts per (grain, bucket, [key,] model, provider, kind, bin) for percentiles.

    Grains: `h` UTC hour and `d` UTC day (api_key_hash ""), `k` UTC day per API key."""

    HOUR, DAY, DAY_KEY = "h", "d", "k"
    LATENCY, THROUGHPUT = 1, 2

    grain = models.CharField(max_length=1)
    bucket_start = models.DateTimeField()
    api_key_hash = models.CharField(max_length=200, default="")
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=100)
    kind = models.SmallIntegerField()
    bin = models.SmallIntegerField()
    count = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["grain", "kind", "bucket_start", "model"], name="rollup_bin_idx"),
            models.Index(fields=["grain", "kind", "api_key_hash", "bucket_start"], name="rollup_bin_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.bucket_start} {self.model} kind {self.kind} bin {self.bin}"
