"""Full-text search over the stored request and response bodies (the list's `?text=`).

Only the JSON *string values* are indexed (the prompt, the answer, ids quoted in them), never the
keys ("role", "content") or numbers, and the same way on both databases:

* SQLite: an FTS5 table of the string values of each body, extracted with `json_tree` (the body
  columns hold JSON with `\\uXXXX` escapes: indexing that text would miss every accented word).
  It keeps its own copy of that text, which `snippet()` reads: FTS5 reads external content with
  virtual tables disallowed, so it cannot read a view that calls `json_tree`. Triggers keep it in
  step with every insert, upsert, update and delete of a body (the bulk store, the purge, a
  cascade), so no service has to remember it. A body row with neither a request nor a response
  (STORE_BODIES=none) is not indexed. Django remakes a SQLite table to alter it, which drops its
  triggers: a later migration altering generations_generationbody must create them again.
* PostgreSQL: a generated, stored `tsvector` column with a GIN index. `to_tsvector(jsonb)` also
  reads only string values. A stored column, not an expression index, because a phrase match or a
  row checked while walking the list's time order then reads the vector instead of parsing the
  JSON again. The column is not a model field: Django never selects or writes it.

Text configuration 'simple' (lower-cased words, no stemming, no stop words) rather than 'english':
prompts carry ids, code, JSON and other languages, where stemming merges what should stay apart
and a stop-word list drops words people do search for ("it", "on" in an error message). The FTS5
tokenizer is unicode61 without removing diacritics, to match.

Building the index reads every stored body once, in this migration: for 1M bodies of 1–4 KB it took
3 min 48 s on SQLite and 11 min 49 s on PostgreSQL (which rewrites the table), on a shared 2-core
machine under load (docs/benchmarks.md). PostgreSQL holds an ACCESS EXCLUSIVE lock on the body
table meanwhile: run it when the fetch workers are stopped.
"""

from django.db import migrations

SQLITE_FORWARD = [
    # The text FTS5 indexes: the string values of each body, in document order.
    """
    CREATE VIEW generations_body_text (generation_id, request, response) AS
    SELECT generation_id,
           (SELECT group_concat(value, ' ') FROM json_tree(body.request) WHERE type = 'text'),
           (SELECT group_concat(value, ' ') FROM json_tree(body.response) WHERE type = 'text')
    FROM generations_generationbody AS body
    WHERE body.request IS NOT NULL OR body.response IS NOT NULL
    """,
    """
    CREATE VIRTUAL TABLE generations_body_search USING fts5(
        request, response, tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER generations_body_search_insert AFTER INSERT ON generations_generationbody
    BEGIN
        INSERT INTO generations_body_search (rowid, request, response)
        SELECT generation_id, request, response FROM generations_body_text WHERE generation_id = new.generation_id;
    END
    """,
    """
    CREATE TRIGGER generations_body_search_delete AFTER DELETE ON generations_generationbody
    BEGIN
        DELETE FROM generations_body_search WHERE rowid = old.generation_id;
    END
    """,
    """
    CREATE TRIGGER generations_body_search_update AFTER UPDATE ON generations_generationbody
    BEGIN
        DELETE FROM generations_body_search WHERE rowid = old.generation_id;
        INSERT INTO generations_body_search (rowid, request, response)
        SELECT generation_id, request, response FROM generations_body_text WHERE generation_id = new.generation_id;
    END
    """,
    # The bodies stored before this migration.
    "INSERT INTO generations_body_search (rowid, request, response) SELECT * FROM generations_body_text",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER generations_body_search_update",
    "DROP TRIGGER generations_body_search_delete",
    "DROP TRIGGER generations_body_search_insert",
    "DROP TABLE generations_body_search",
    "DROP VIEW generations_body_text",
]

POSTGRESQL_FORWARD = [
    # A NULL body is JSON null here: to_tsvector(NULL) would make the whole vector NULL.
    """
    ALTER TABLE generations_generationbody ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, coalesce(request, 'null'::jsonb))
        || to_tsvector('simple'::regconfig, coalesce(response, 'null'::jsonb))
    ) STORED
    """,
    "CREATE INDEX generations_body_search_idx ON generations_generationbody USING gin (search_vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX generations_body_search_idx",
    "ALTER TABLE generations_generationbody DROP COLUMN search_vector",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("generations", "0016_lookup_request_source_tags")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        )
    ]
