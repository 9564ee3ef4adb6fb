"""Pre-aggregated rollups of the stored generations (see rollups.py)."""

from django.db import models

from generations.analytics.measures import MEASURES
from generations.ingest.tags import MAX_KEY_LENGTH, MAX_VALUE_LENGTH


class RollupMeasures(models.Model):
    """Exact sums over the generations of one rollup bucket: a column per measure of
    `measures.MEASURES` (added below), so a new measure is a new column of every rollup table.

    Unknown costs are counted, never summed as 0, so totals from rollups and from raw rows
    say the same thing.
    """

    bucket_start = models.DateTimeField()
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    is_byok = models.BooleanField(null=True)

    class Meta:
        abstract = True


class TagRollupMeasures(models.Model):
    """Exact sums over the generations of one rollup bucket with one tag (name and value): a
    column per measure, as `RollupMeasures`. A generation counts once under each of its tags; the
    generations without a tag of a name are the range's total less that name's rows."""

    bucket_start = models.DateTimeField()
    tag_key = models.CharField(max_length=MAX_KEY_LENGTH)
    tag_value = models.CharField(max_length=MAX_VALUE_LENGTH)

    class Meta:
        abstract = True


# Before the tables below are declared: each copies the abstract model's fields as it is made.
for _measure in MEASURES:
    RollupMeasures.add_to_class(_measure.name, models.BigIntegerField())
    TagRollupMeasures.add_to_class(_measure.name, models.BigIntegerField())


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


class DailyRollup(RollupMeasures):
    """One UTC day × (model, provider, endpoint, BYOK): the whole days of a range when no key is involved."""

    class Meta:
        indexes = [models.Index(fields=["bucket_start", "model"], name="rollup_day_low_idx")]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d} {self.model}"


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
    """One UTC week (from Monday) × (API key, model, provider, endpoint, BYOK): a 90-day per-key
    breakdown reads 6,000 rows instead of 31,000 daily ones (docs/rollup-grains.md)."""

    api_key_hash = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["bucket_start", "api_key_hash"], name="rollup_week_idx"),
            models.Index(fields=["api_key_hash", "bucket_start"], name="rollup_week_key_idx"),
        ]

    def __str__(self) -> str:
        return f"week of {self.bucket_start:%Y-%m-%d} {self.api_key_hash} {self.model}"


class HourlyTagRollup(TagRollupMeasures):
    """One UTC hour × (tag name, tag value): the hours at the edges of a range for cost by tag.
    No other dimension: with a model, key or tag filter the chart reads raw rows joined to their
    tags (docs/rollup-grains.md)."""

    class Meta:
        indexes = [
            models.Index(fields=["tag_key", "bucket_start"], name="rollup_tag_hour_idx"),
            models.Index(fields=["bucket_start"], name="rollup_tag_hour_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d %H:00} {self.tag_key}={self.tag_value}"


class DailyTagRollup(TagRollupMeasures):
    """One UTC day × (tag name, tag value): the whole days of a range for cost by tag, and the tag
    names the chart offers."""

    class Meta:
        indexes = [
            models.Index(fields=["tag_key", "bucket_start"], name="rollup_tag_day_idx"),
            models.Index(fields=["bucket_start"], name="rollup_tag_day_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_start:%Y-%m-%d} {self.tag_key}={self.tag_value}"


class RollupHistogram(models.Model):
    """The latency or throughput histogram of one (grain, bucket, [key,] model, provider, kind), for
    percentiles: one row instead of one per bin, so a 90-day page reads about a thousand rows.

    `counts` packs the count of bin `low + i` (see histograms.py) into bits [48·i, 48·i + 48) of one
    little-endian integer: adding two such integers adds every bin at once.
    Grains: `h` UTC hour and `d` UTC day (api_key_hash ""); `k` UTC day per API key."""

    HOUR, DAY, DAY_KEY = "h", "d", "k"
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
