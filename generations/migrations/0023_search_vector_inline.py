"""PostgreSQL: keep each body's search vector in the row itself (storage MAIN), moving the request
and response out to TOAST first.

A phrase is checked against the stored vector of every candidate body (the GIN index has no word
positions). With the default storage, a vector of about 1.4 KB beside 1.5 KB of JSON made the row too
long, so the vector itself went to TOAST and each check fetched it from there: 100,000 checks took
540 ms, against 125 ms with the vector in the row (measured on the 1M benchmark database).

Only bodies written from now on get the new layout; `VACUUM FULL generations_generationbody` moves
the stored ones (it locks the table: about a minute per million bodies; see docs/operations.md).
SQLite has no such storage setting: nothing to do there.
"""

from django.db import migrations

FORWARD = "ALTER TABLE generations_generationbody ALTER COLUMN search_vector SET STORAGE MAIN"
BACKWARD = "ALTER TABLE generations_generationbody ALTER COLUMN search_vector SET STORAGE EXTENDED"


def _run(statement: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("generations", "0022_tag_rollups")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
