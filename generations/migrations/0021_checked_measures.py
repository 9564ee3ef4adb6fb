"""The cost check's measures (pricing/usage.py): requests, input and output tokens and charges of the
generations whose cost and both token counts are known.

They cannot be derived from the stored sums, so every measure table is filled again from the stored
generations with this migration's own SQL (a migration must not import live code, which changes
after it): one INSERT … SELECT … GROUP BY per table, as `rebuild_rollups` of this version does.
"""

from django.db import migrations, models

NEW_MEASURES = ("checked_requests", "checked_input_tokens", "checked_output_tokens", "checked_cost_pico")
# Every measure of generations/analytics/measures.py at this version, in its order.
MEASURE_SQL = {
    "requests": "COUNT(*)",
    "priced_requests": "COUNT(cost_pico)",
    "cost_pico": "SUM(cost_pico)",
    "credits_pico": "SUM(credits_used_pico)",
    "input_tokens": "SUM(input_tokens)",
    "output_tokens": "SUM(output_tokens)",
    "priced_tokens": (
        "SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END)"
    ),
    "byok_requests": "COUNT(CASE WHEN is_byok THEN 1 END)",
    "checked_requests": (
        "COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END)"
    ),
    "checked_input_tokens": "SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END)",
    "checked_output_tokens": "SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END)",
    "checked_cost_pico": "SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END)",
}
KEYLESS = "model, provider, endpoint, is_byok"
KEYED = f"{KEYLESS}, api_key_hash"
# table: (time unit, dimensions)
TABLES = {
    "quarterhourrollup": ("quarter", KEYLESS),
    "hourlyrollup": ("hour", KEYLESS),
    "dailyrollup": ("day", KEYLESS),
    "hourlykeyrollup": ("hour", KEYED),
    "dailykeyrollup": ("day", KEYED),
    "weeklykeyrollup": ("week", KEYED),
}
# The UTC start of each unit, written as the rollup reads and writes it. Queries pass parameters
# (none), so a literal % is written %%.
BUCKET = {
    "postgresql": {
        "quarter": "date_bin('15 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
        **{
            unit: f"date_trunc('{unit}', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            for unit in ("hour", "day", "week")
        },
    },
    "sqlite": {
        "quarter": (
            "strftime('%%Y-%%m-%%d %%H:', occurred_at) "
            "|| printf('%%02d', CAST(strftime('%%M', occurred_at) AS INTEGER) / 15 * 15) || ':00'"
        ),
        "hour": "strftime('%%Y-%%m-%%d %%H:00:00', occurred_at)",
        "day": "strftime('%%Y-%%m-%%d 00:00:00', occurred_at)",
        "week": "strftime('%%Y-%%m-%%d 00:00:00', occurred_at, '-6 days', 'weekday 1')",
    },
}


def refill(apps, schema_editor):
    connection = schema_editor.connection
    columns = ", ".join(MEASURE_SQL)
    sums = ", ".join(f"COALESCE({sql}, 0)" for sql in MEASURE_SQL.values())
    with connection.cursor() as cursor:
        for name, (unit, dims) in TABLES.items():
            table = f"generations_{name}"
            bucket = BUCKET[connection.vendor][unit]
            cursor.execute(f"DELETE FROM {table}", [])  # noqa: S608 (fixed table names)
            cursor.execute(
                f"INSERT INTO {table} (bucket_start, {dims}, {columns}) "  # noqa: S608
                f"SELECT {bucket}, {dims}, {sums} FROM generations_generation GROUP BY {bucket}, {dims}",
                [],
            )


class Migration(migrations.Migration):
    dependencies = [("generations", "0020_measure_columns_and_fewer_grains")]

    operations = [
        *(
            migrations.AddField(table, measure, models.BigIntegerField(default=0), preserve_default=False)
            for table in TABLES
            for measure in NEW_MEASURES
        ),
        migrations.RunPython(refill, migrations.RunPython.noop),
    ]
