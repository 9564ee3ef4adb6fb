"""Tags as filters and cost by tag.

* Each tag keeps its generation's time (`occurred_at`, copied from the generation here and on every
  store) in an index by (name, value, time): a tag filter reads one tag's generations of a range.
* The tag rollups: UTC hour and day × (tag name, tag value), filled from the tags already stored.

Plain SQL: a migration never imports the project's live code, so the measures of
generations/analytics/measures.py are written out here as they are today.
"""

from django.db import migrations, models

MEASURES = {
    "requests": "COUNT(*)",
    "priced_requests": "COUNT(g.cost_pico)",
    "cost_pico": "COALESCE(SUM(g.cost_pico), 0)",
    "credits_pico": "COALESCE(SUM(g.credits_used_pico), 0)",
    "input_tokens": "COALESCE(SUM(g.input_tokens), 0)",
    "output_tokens": "COALESCE(SUM(g.output_tokens), 0)",
    "priced_tokens": (
        "COALESCE(SUM(CASE WHEN g.cost_pico IS NOT NULL "
        "THEN COALESCE(g.input_tokens, 0) + COALESCE(g.output_tokens, 0) END), 0)"
    ),
    "byok_requests": "COUNT(CASE WHEN g.is_byok THEN 1 END)",
    "checked_requests": (
        "COUNT(CASE WHEN g.cost_pico IS NOT NULL AND g.input_tokens IS NOT NULL "
        "AND g.output_tokens IS NOT NULL THEN 1 END)"
    ),
    "checked_input_tokens": (
        "COALESCE(SUM(CASE WHEN g.cost_pico IS NOT NULL AND g.output_tokens IS NOT NULL THEN g.input_tokens END), 0)"
    ),
    "checked_output_tokens": (
        "COALESCE(SUM(CASE WHEN g.cost_pico IS NOT NULL AND g.input_tokens IS NOT NULL THEN g.output_tokens END), 0)"
    ),
    "checked_cost_pico": (
        "COALESCE(SUM(CASE WHEN g.input_tokens IS NOT NULL AND g.output_tokens IS NOT NULL THEN g.cost_pico END), 0)"
    ),
}
HOUR_START = {
    "sqlite": "strftime('%Y-%m-%d %H:00:00', g.occurred_at)",
    "postgresql": "date_trunc('hour', g.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
DAY_START = {
    "sqlite": "strftime('%Y-%m-%d 00:00:00', h.bucket_start)",
    "postgresql": "date_trunc('day', h.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}


def copy_times(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE generations_generationtag SET occurred_at = (SELECT g.occurred_at FROM generations_generation "
            "AS g WHERE g.id = generations_generationtag.generation_id)"
        )


def fill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    columns = ", ".join(MEASURES)
    hour, day = HOUR_START[vendor], DAY_START[vendor]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO generations_hourlytagrollup (bucket_start, tag_key, tag_value, {columns}) "  # noqa: S608
            f"SELECT {hour}, t.key, t.value, {', '.join(MEASURES.values())} "
            "FROM generations_generation AS g JOIN generations_generationtag AS t ON t.generation_id = g.id "
            f"GROUP BY {hour}, t.key, t.value"
        )
        cursor.execute(
            f"INSERT INTO generations_dailytagrollup (bucket_start, tag_key, tag_value, {columns}) "  # noqa: S608
            f"SELECT {day}, h.tag_key, h.tag_value, {', '.join(f'SUM(h.{name})' for name in MEASURES)} "
            f"FROM generations_hourlytagrollup AS h GROUP BY {day}, h.tag_key, h.tag_value"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('generations', '0021_checked_measures'),
    ]

    operations = [
        migrations.AddField(model_name="generationtag", name="occurred_at", field=models.DateTimeField(null=True)),
        migrations.RunPython(copy_times, migrations.RunPython.noop),
        migrations.AlterField(model_name="generationtag", name="occurred_at", field=models.DateTimeField()),
        migrations.RemoveIndex(model_name="generationtag", name="generation_tag_key_value_idx"),
        migrations.AddIndex(
            model_name="generationtag",
            index=models.Index(fields=["key", "value", "occurred_at", "generation"], name="generation_tag_time_idx"),
        ),
        migrations.CreateModel(
            name='DailyTagRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket_start', models.DateTimeField()),
                ('tag_key', models.CharField(max_length=64)),
                ('tag_value', models.CharField(max_length=200)),
                ('requests', models.BigIntegerField()),
                ('priced_requests', models.BigIntegerField()),
                ('cost_pico', models.BigIntegerField()),
                ('credits_pico', models.BigIntegerField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('priced_tokens', models.BigIntegerField()),
                ('byok_requests', models.BigIntegerField()),
                ('checked_requests', models.BigIntegerField()),
                ('checked_input_tokens', models.BigIntegerField()),
                ('checked_output_tokens', models.BigIntegerField()),
                ('checked_cost_pico', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['tag_key', 'bucket_start'], name='rollup_tag_day_idx'), models.Index(fields=['bucket_start'], name='rollup_tag_day_time_idx')],
            },
        ),
        migrations.CreateModel(
            name='HourlyTagRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket_start', models.DateTimeField()),
                ('tag_key', models.CharField(max_length=64)),
                ('tag_value', models.CharField(max_length=200)),
                ('requests', models.BigIntegerField()),
                ('priced_requests', models.BigIntegerField()),
                ('cost_pico', models.BigIntegerField()),
                ('credits_pico', models.BigIntegerField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('priced_tokens', models.BigIntegerField()),
                ('byok_requests', models.BigIntegerField()),
                ('checked_requests', models.BigIntegerField()),
                ('checked_input_tokens', models.BigIntegerField()),
                ('checked_output_tokens', models.BigIntegerField()),
                ('checked_cost_pico', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['tag_key', 'bucket_start'], name='rollup_tag_hour_idx'), models.Index(fields=['bucket_start'], name='rollup_tag_hour_time_idx')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
