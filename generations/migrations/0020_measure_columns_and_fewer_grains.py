"""Rollup columns named after the measures (generations/analytics/measures.py), and fewer grains.

* `priced_requests` (requests of known cost) replaces `cost_unknown`, `credits_pico` is the renamed
  `credits_used_pico`, `credits_unknown` (read by nothing) goes, and `byok_requests` is new: every
  one is computed from the row's own columns, so no rebuild is needed.
* The 24-hour windows, the keyless weekly table and the weekly histograms go: docs/rollup-grains.md has
  the figures that show the dashboard meets its targets without them.

Plain SQL and migration operations only: a migration never imports the project's live code.
"""

from django.db import migrations, models

MEASURE_TABLES = (
    "hourlyrollup",
    "quarterhourrollup",
    "dailyrollup",
    "hourlykeyrollup",
    "dailykeyrollup",
    "weeklykeyrollup",
)


def _per_table(model_name: str) -> list:
    table = f"generations_{model_name}"
    return [
        migrations.AddField(model_name, "priced_requests", models.BigIntegerField(default=0), preserve_default=False),
        migrations.AddField(model_name, "byok_requests", models.BigIntegerField(default=0), preserve_default=False),
        migrations.RunSQL(
            f"UPDATE {table} SET priced_requests = requests - cost_unknown, "  # noqa: S608 (a fixed table name)
            "byok_requests = CASE WHEN is_byok THEN requests ELSE 0 END",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(model_name, "cost_unknown"),
        migrations.RemoveField(model_name, "credits_unknown"),
        migrations.RenameField(model_name, "credits_used_pico", "credits_pico"),
        migrations.AlterField(model_name, "priced_tokens", models.BigIntegerField()),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0019_log_follower_offset"),
    ]

    operations = [
        *(operation for model_name in MEASURE_TABLES for operation in _per_table(model_name)),
        migrations.DeleteModel(name="LocalDayRollup"),
        migrations.DeleteModel(name="WeeklyRollup"),
        migrations.RunSQL("DELETE FROM generations_rolluphistogram WHERE grain = 'w'", migrations.RunSQL.noop),
    ]
