"""Packed histograms (one row per histogram) replace the bin rows.

Every rollup is filled again from the stored generations with this migration's own SQL, as the
`rebuild_rollups` of this version did (a migration must not import live code, which changes after
it): the measure tables by INSERT … SELECT … GROUP BY, the 24-hour windows as sums of 48 half hours,
the histograms packed here (SQL cannot pack), one UTC week at a time. 0007's tables start empty.
"""

from datetime import UTC, datetime, timedelta

from django.db import migrations, models

MEASURES = (
    "requests, cost_pico, cost_unknown, credits_used_pico, credits_unknown, input_tokens, output_tokens, priced_tokens"
)
SUMS = (
    "COUNT(*), COALESCE(SUM(cost_pico), 0), SUM(CASE WHEN cost_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(credits_used_pico), 0), SUM(CASE WHEN credits_used_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
    "COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0)"
)
KEYLESS = "model, provider, endpoint, is_byok"
KEYED = f"{KEYLESS}, api_key_hash"
# model name: (time unit, dimensions)
MEASURE_TABLES = {
    "HalfHourRollup": ("half", KEYLESS),
    "HourlyRollup": ("hour", KEYLESS),
    "DailyRollup": ("day", KEYLESS),
    "WeeklyRollup": ("week", KEYLESS),
    "HourlyKeyRollup": ("hour", KEYED),
    "DailyKeyRollup": ("day", KEYED),
    "WeeklyKeyRollup": ("week", KEYED),
}
# grain: (time unit, per key)
HISTOGRAM_GRAINS = {"h": ("hour", False), "d": ("day", False), "w": ("week", False), "k": ("day", True)}
HISTOGRAM_KINDS = {1: "latency_bin", 2: "throughput_bin"}
COUNT_BITS = 48  # the count of bin `low + i` is bits [48·i, 48·i + 48) of one little-endian integer
WINDOW_HALF_HOURS = 48
# Every query passes parameters (maybe none), so a literal % is written %%.
TRUNC = {
    "postgresql": {
        "half": (
            "((date_trunc('hour', occurred_at AT TIME ZONE 'UTC') + floor(extract(minute FROM occurred_at AT TIME ZONE "
            "'UTC') / 30) * interval '30 minutes') AT TIME ZONE 'UTC')"
        ),
        **{
            unit: f"(date_trunc('{unit}', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
            for unit in ("hour", "day", "week")
        },
    },
    "sqlite": {
        "half": (
            "(strftime('%%Y-%%m-%%d %%H:', occurred_at) || "
            "printf('%%02d', CAST(strftime('%%M', occurred_at) AS INTEGER) / 30 * 30) || ':00')"
        ),
        "hour": "strftime('%%Y-%%m-%%d %%H:00:00', occurred_at)",
        "day": "strftime('%%Y-%%m-%%d 00:00:00', occurred_at)",
        "week": "strftime('%%Y-%%m-%%d 00:00:00', occurred_at, '-6 days', 'weekday 1')",
    },
}
WINDOW_START = {
    "postgresql": "half.bucket_start - offsets.k * interval '30 minutes'",
    "sqlite": "datetime(half.bucket_start, '-' || (offsets.k * 30) || ' minutes')",
}


def pack(counts):
    """{bin: count} → (lowest bin, the counts packed as little-endian bytes)."""
    low = min(counts)
    packed = 0
    for index, count in counts.items():
        packed |= count << (COUNT_BITS * (index - low))
    return low, packed.to_bytes((packed.bit_length() + 7) // 8 or 1, "little")


def fill_measures(cursor, vendor, apps):
    generations = apps.get_model("generations", "Generation")._meta.db_table
    for name, (unit, dims) in MEASURE_TABLES.items():
        table = apps.get_model("generations", name)._meta.db_table
        trunc = TRUNC[vendor][unit]
        cursor.execute(f"DELETE FROM {table}", [])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {table} (bucket_start, {dims}, {MEASURES}) "  # noqa: S608
            f"SELECT {trunc}, {dims}, {SUMS} FROM {generations} GROUP BY {trunc}, {dims}",
            [],
        )


def fill_local_days(cursor, vendor, apps):
    """The 24-hour windows from every half hour: a window's sums are those of its 48 half hours."""
    table = apps.get_model("generations", "LocalDayRollup")._meta.db_table
    halves = apps.get_model("generations", "HalfHourRollup")._meta.db_table
    offsets = " UNION ALL ".join(["SELECT 0 AS k", *(f"SELECT {k}" for k in range(1, WINDOW_HALF_HOURS))])
    start = WINDOW_START[vendor]
    dims = ", ".join(f"half.{dim}" for dim in KEYLESS.split(", "))
    sums = ", ".join(f"SUM(half.{measure})" for measure in MEASURES.split(", "))
    cursor.execute(f"DELETE FROM {table}", [])  # noqa: S608
    cursor.execute(
        f"INSERT INTO {table} (bucket_start, {KEYLESS}, {MEASURES}) "  # noqa: S608
        f"SELECT {start}, {dims}, {sums} FROM {halves} AS half CROSS JOIN ({offsets}) AS offsets "
        f"GROUP BY {start}, {dims}",
        [],
    )


def fill_histograms(cursor, vendor, apps, first, last, adapt):
    """Every grain's histograms from the raw rows, one UTC week of generations at a time."""
    generations = apps.get_model("generations", "Generation")._meta.db_table
    table = apps.get_model("generations", "RollupHistogram")._meta.db_table
    week = datetime.combine(first.astimezone(UTC).date(), datetime.min.time(), UTC)
    week -= timedelta(days=week.weekday())
    while week <= last:
        span = [adapt(week), adapt(week + timedelta(days=7))]
        for grain, (unit, per_key) in HISTOGRAM_GRAINS.items():
            trunc = TRUNC[vendor][unit]
            key, group_key = ("api_key_hash", ", api_key_hash") if per_key else ("''", "")
            bins = {}
            for kind, column in HISTOGRAM_KINDS.items():
                cursor.execute(
                    f"SELECT {trunc}, {key}, model, provider, {column}, COUNT(*) FROM {generations} "  # noqa: S608
                    f"WHERE occurred_at >= %s AND occurred_at < %s AND {column} IS NOT NULL "
                    f"GROUP BY {trunc}{group_key}, model, provider, {column}",
                    span,
                )
                for bucket, key_hash, model, provider, index, count in cursor.fetchall():
                    bins.setdefault((bucket, key_hash, model, provider, kind), {})[index] = count
            cursor.executemany(
                f"INSERT INTO {table} (grain, bucket_start, api_key_hash, model, provider, kind, low, counts) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(grain, *group, *pack(counts)) for group, counts in bins.items()],
            )
        week += timedelta(days=7)


def refill_rollups(apps, schema_editor):
    connection = schema_editor.connection
    span = apps.get_model("generations", "Generation").objects.aggregate(
        first=models.Min("occurred_at"), last=models.Max("occurred_at")
    )
    with connection.cursor() as cursor:
        fill_measures(cursor, connection.vendor, apps)
        fill_local_days(cursor, connection.vendor, apps)
        if span["first"] is not None:
            adapt = connection.ops.adapt_datetimefield_value
            fill_histograms(cursor, connection.vendor, apps, span["first"], span["last"], adapt)


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0009_covering_key_bin_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="RollupHistogram",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grain", models.CharField(max_length=1)),
                ("bucket_start", models.DateTimeField()),
                ("api_key_hash", models.CharField(default="", max_length=200)),
                ("model", models.CharField(max_length=200)),
                ("provider", models.CharField(max_length=100)),
                ("kind", models.SmallIntegerField()),
                ("low", models.IntegerField()),
                ("counts", models.BinaryField()),
            ],
        ),
        migrations.DeleteModel(
            name="RollupBin",
        ),
        migrations.AddIndex(
            model_name="rolluphistogram",
            index=models.Index(fields=["grain", "kind", "bucket_start", "model"], name="rollup_histogram_idx"),
        ),
        migrations.AddIndex(
            model_name="rolluphistogram",
            index=models.Index(
                fields=["grain", "kind", "api_key_hash", "bucket_start"], name="rollup_histogram_key_idx"
            ),
        ),
        migrations.RunPython(refill_rollups, migrations.RunPython.noop),
    ]
