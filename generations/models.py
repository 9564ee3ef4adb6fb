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


class LookupBatch(models.Model):
    """One hand-over of ids (a paste, an upload, a CLI import, an API call or the demo)."""

    class Source(models.TextChoices):
        PASTE = "paste", "Pasted"
        UPLOAD = "upload", "Uploaded file"
        CLI = "cli", "Command line"
        API = "api", "Ingest API"
        DEMO = "demo", "Demo data"

    source = models.CharField(max_length=10, choices=Source.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the hand-over held when it arrived (the live progress is counted from LookupRequest).
    found_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    already_stored_count = models.PositiveIntegerField(default=0)
    already_queued_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "lookup batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.get_source_display()}, {self.found_count} ids)"


class PendingImport(models.Model):
    """Ids previewed on the Import page, kept here (not queued, never fetched) until their owner
    confirms them, which queues them as a batch, or they expire (``queue.PREVIEW_LIFETIME``)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=10, choices=LookupBatch.Source.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    ids = models.TextField(help_text="The unique valid ids, one per line.")
    invalid_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Pending import {self.pk} ({self.get_source_display()})"


class LookupRequest(models.Model):
    """One id in the fetch queue; the worker moves it from queued to stored, not found or failed."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        FETCHING = "fetching", "Fetching"
        STORED = "stored", "Stored"
        NOT_FOUND = "not_found", "Not found"
        FAILED = "failed", "Failed"

    generation_id = models.CharField("generation id", max_length=256, unique=True)
    batch = models.ForeignKey(LookupBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Fetches counted against FETCH_MAX_ATTEMPTS.")
    last_error = models.CharField(max_length=300, blank=True, default="", help_text="Safe to show to users.")
    first_seen_at = models.DateTimeField(help_text="The not-found grace counts from here.")
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=120, blank=True, default="")
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="lookup_due_idx"),
            models.Index(fields=["batch", "state"], name="lookup_batch_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.generation_id} ({self.state})"


class IngestToken(models.Model):
    """A per-integration bearer token for POST /api/ingest. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100, help_text="Which application or integration uses it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DailyFetchUsage(models.Model):
    """How many ids a user fetched or queued on one day, against MEMBER_DAILY_FETCH_LIMIT."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    day = models.DateField(help_text="In the site's TIME_ZONE.")
    ids = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="fetch_usage_user_day_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.day}: {self.ids} ids"


class WorkerStatus(models.Model):
    """One shared row: lets every web server see that a fetch worker (on any machine) is paused."""

    auth_failed_at = models.DateTimeField(null=True, blank=True)
    auth_message = models.CharField(max_length=300, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        verbose_name_plural = "worker status"

    def __str__(self) -> str:
        return "Fetch worker status"


class RateBudgetState(models.Model):
    """The shared FastRouter request budget (see rate_budget.py): one row, updated under a row lock."""

    name = models.CharField(max_length=50, primary_key=True)
    # Unix times: every process, on every machine, reads the same clock through them.
    next_free_at = models.FloatField(default=0.0)
    paused_until = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"Rate budget {self.name}"


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
    # Input + output tokens of the rows of known cost: the dashboard's "cost per 1K tokens".
    priced_tokens = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class HourlyRollup(RollupMeasures):
    """One UTC hour × (model, provider, endpoint, BYOK): time series in any whole-hour zone."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_hour_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d %H:00} {self.model}"


class QuarterHourRollup(RollupMeasures):
    """One UTC quarter hour × (model, provider, endpoint, BYOK): the edges of local hours and days
    in half- and quarter-hour zones (India, Iran, Newfoundland, central Australia; Nepal, Chatham),
    so no zone in use reads raw rows for a local bucket."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_quarter_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d %H:%M} {self.model}"


class LocalDayRollup(RollupMeasures):
    """24 hours from any UTC half hour × (model, provider, endpoint, BYOK): a local day of any
    whole- or half-hour zone (DST days aside) in one row per combination, instead of 24 hours."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_local_day_idx")]

    def __str__(self) -> str:
        return f"24 h from {self.bucket_start:%Y-%m-%d %H:%M} {self.model}"


class DailyRollup(RollupMeasures):
    """One UTC day × (model, provider, endpoint, BYOK): the whole days of a range when no key is involved."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_day_low_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d} {self.model}"


class WeeklyRollup(RollupMeasures):
    """One UTC week (from Monday) × (model, provider, endpoint, BYOK): long ranges in few rows."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_week_low_idx")]

    def __str__(self) -> str:
        return f"week of {self.bucket_start:%Y-%m-%d} {self.model}"


class HourlyKeyRollup(RollupMeasures):
    """One UTC hour × (API key, model, provider, endpoint, BYOK): the hours at the edges of a
    range when a key is involved (the per-key breakdown, a key or team filter)."""

    api_key_hash = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["bucket_start", "api_key_hash"], name="rollup_hour_key_time_idx"),
            models.Index(fields=["api_key_hash", "bucket_start"], name="rollup_hour_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d %H:00} {self.api_key_hash} {self.model}"


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


class WeeklyKeyRollup(RollupMeasures):
    """One UTC week (from Monday) × (API key, model, provider, endpoint, BYOK)."""

    api_key_hash = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["bucket_start", "api_key_hash"], name="rollup_week_idx"),
            models.Index(fields=["api_key_hash", "bucket_start"], name="rollup_week_key_idx"),
        ]

    def __str__(self) -> str:
        return f"week of {self.bucket_start:%Y-%m-%d} {self.api_key_hash} {self.model}"


class RollupHistogram(models.Model):
    """The latency or throughput histogram of one (grain, bucket, [key,] model, provider, kind), for
    percentiles: one row instead of one per bin, so a 90-day page reads about a thousand rows.

    `counts` packs the count of bin `low + i` (see histograms.py) into bits [48·i, 48·i + 48) of one
    little-endian integer: adding two such integers adds every bin at once.
    Grains: `h` UTC hour, `d` UTC day and `w` UTC week (api_key_hash ""); `k` UTC day per API key."""

    HOUR, DAY, WEEK, DAY_KEY = "h", "d", "w", "k"
    LATENCY, THROUGHPUT = 1, 2

    grain = models.CharField(max_length=1)
    bucket_start = models.DateTimeField()
    api_key_hash = models.CharField(max_length=200, default="")
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=100)
    kind = models.SmallIntegerField()
    low = models.IntegerField()
    counts = models.BinaryField()

    class Meta:
        indexes = [
            models.Index(fields=["grain", "kind", "bucket_start", "model"], name="rollup_histogram_idx"),
            models.Index(fields=["grain", "kind", "api_key_hash", "bucket_start"], name="rollup_histogram_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.bucket_start} {self.model} kind {self.kind}"
