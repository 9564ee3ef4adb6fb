"""Quarter hours replace half hours as the finest keyless rollup grain, so local buckets in
quarter-hour zones (Nepal, Chatham) never read raw rows. Filled here with the migration's own SQL
(a migration must not import live code, which changes after it)."""

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
QUARTER = {
    "postgresql": (
        "((date_trunc('hour', occurred_at AT TIME ZONE 'UTC') + floor(extract(minute FROM occurred_at AT TIME ZONE "
        "'UTC') / 15) * interval '15 minutes') AT TIME ZONE 'UTC')"
    ),
    "sqlite": (
        "(strftime('%Y-%m-%d %H:', occurred_at) || printf('%02d', CAST(strftime('%M', occurred_at) AS INTEGER) / 15 * 15)"
        " || ':00')"
    ),
}


def fill_quarter_hours(apps, schema_editor):
    connection = schema_editor.connection
    dims = "model, provider, endpoint, is_byok"
    trunc = QUARTER[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO generations_quarterhourrollup (bucket_start, {dims}, {MEASURES}) "  # noqa: S608
            f"SELECT {trunc}, {dims}, {SUMS} FROM generations_generation GROUP BY {trunc}, {dims}"
        )


class Migration(migrations.Migration):
    dependencies = [("generations", "0010_packed_histograms")]

    operations = [
        migrations.CreateModel(
            name="QuarterHourRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("bucket_start", models.DateTimeField()),
                ("model", models.CharField(max_length=200)),
                ("provider", models.CharField(max_length=100)),
                ("endpoint", models.CharField(max_length=200)),
                ("is_byok", models.BooleanField(null=True)),
                ("requests", models.BigIntegerField()),
                ("cost_pico", models.BigIntegerField()),
                ("cost_unknown", models.BigIntegerField()),
                ("credits_used_pico", models.BigIntegerField()),
                ("credits_unknown", models.BigIntegerField()),
                ("input_tokens", models.BigIntegerField()),
                ("output_tokens", models.BigIntegerField()),
                ("priced_tokens", models.BigIntegerField(default=0)),
            ],
            options={"indexes": [models.Index(fields=["bucket_start", "model"], name="rollup_quarter_idx")]},
        ),
        migrations.RunPython(fill_quarter_hours, migrations.RunPython.noop),
        migrations.DeleteModel(name="HalfHourRollup"),
    ]
