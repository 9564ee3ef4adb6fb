"""Write N synthetic generations straight into the database, then rebuild the rollups.

    DATA_DIR=/tmp/perf-sqlite python benchmarks/generate.py 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perf_bench python benchmarks/generate.py 1000000

PostgreSQL gets COPY (psycopg 3 `cursor.copy`), SQLite `executemany` in big transactions. The mix:
12 models with their providers and per-token prices, 50 API keys (each using 2–4 models and
mostly one endpoint; 5 keys BYOK ≈ 10 %), log-normal token counts, long-tailed latencies,
about 1 % unknown costs, times spread over the 90 days before now, and request/response bodies
of 1–4 KB in GenerationBody (one in RARE_EVERY mentioning RARE_WORD, for the text searches). Ids
continue after the largest stored id, so it can be run twice. `--add-rare-word` only adds RARE_WORD
to the bodies of a database generated before it existed; `--add-tags` only tags the stored
generations (TAGGED_SHARE of them, each with every name of TAGS) and rebuilds the rollups.
"""

import argparse
import json
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastrouter_dash.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Value  # noqa: E402
from django.db.models.functions import Mod  # noqa: E402

from generations.analytics.histograms import bin_index  # noqa: E402
from generations.analytics.rollups import rollups_rebuild  # noqa: E402
from generations.models import Generation, GenerationBody, GenerationTag  # noqa: E402

# (model, provider, USD per 1M input tokens, USD per 1M output tokens, median latency ms)
MODELS = [
    ("openai/gpt-4o", "openai", 2.50, 10.00, 1800),
    ("openai/gpt-4o-mini", "openai", 0.15, 0.60, 900),
    ("openai/gpt-4.1", "openai", 2.00, 8.00, 2000),
    ("openai/o3-mini", "openai", 1.10, 4.40, 6000),
    ("anthropic/claude-sonnet-4", "anthropic", 3.00, 15.00, 2500),
    ("anthropic/claude-3-5-haiku", "anthropic", 0.80, 4.00, 1100),
    ("google/gemini-2.5-pro", "google", 1.25, 10.00, 3500),
    ("google/gemini-2.0-flash", "google", 0.10, 0.40, 700),
    ("meta-llama/llama-3.3-70b-instruct", "together", 0.88, 0.88, 1300),
    ("mistralai/mistral-large", "mistral", 2.00, 6.00, 1600),
    ("deepseek/deepseek-chat", "deepseek", 0.27, 1.10, 2200),
    ("x-ai/grok-3-mini", "xai", 0.30, 0.50, 1500),
]
ENDPOINTS = ["/v1/chat/completions", "/v1/responses", "/v1/completions"]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "this",
    "that",
    "summarise",
    "explain",
    "translate",
    "classify",
    "incident",
    "report",
    "customer",
    "order",
    "refund",
    "invoice",
    "latency",
    "cluster",
    "deploy",
    "rollback",
    "database",
    "query",
    "python",
    "function",
    "error",
    "stack",
    "trace",
    "please",
    "bullet",
    "points",
    "concise",
    "answer",
    "context",
    "document",
]
PICO = 10**12
# One generation in RARE_EVERY asks about RARE_WORD (in no other body): what the rare text
# searches of benchmarks/run.py find; every word of WORDS is in nearly every body.
RARE_EVERY = 1000
RARE_WORD = "escalation"


def make_keys(rng: random.Random, count: int = 50) -> list[dict]:
    keys = []
    for n in range(count):
        models = rng.sample(range(len(MODELS)), rng.randint(2, 4))
        keys.append(
            {
                "hash": f"sha256:{rng.getrandbits(48):012x}",
                "models": models,
                "weights": [rng.random() + 0.2 for _ in models],
                "endpoint": ENDPOINTS[0] if rng.random() < 0.7 else rng.choice(ENDPOINTS),
                "byok": n % 10 == 0,
                "rate": rng.lognormvariate(0, 1),
            }
        )
    return keys


def make_bodies(rng: random.Random, count: int = 400) -> list[tuple[str, str, str]]:
    """(request, response, metadata) JSON texts of 1–4 KB together, reused across rows."""
    bodies = []
    for _ in range(count):
        size = rng.randint(1000, 4000)
        prompt = " ".join(rng.choice(WORDS) for _ in range(size // 12))
        answer = " ".join(rng.choice(WORDS) for _ in range(size // 14))
        request = {
            "model": "m",
            "messages": [
                {"role": "system", "content": "You are a concise assistant."},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0.2,
        }
        response = {
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
        }
        metadata = {"team": rng.choice(["search", "support", "growth", "platform"]), "region": "us-east-1"}
        bodies.append((json.dumps(request), json.dumps(response), json.dumps(metadata)))
    return bodies


def with_rare_word(request: str) -> str:
    body = json.loads(request)
    body["messages"][-1]["content"] += f" {RARE_WORD}"
    return json.dumps(body)


def rows(rng: random.Random, keys: list[dict], first_id: int, count: int, start: datetime, span: float):
    """Yield (generation row, body row) tuples in time order."""
    key_weights = [key["rate"] for key in keys]
    bodies = make_bodies(rng)
    fetched_at = datetime.now(UTC)
    offsets = sorted(rng.random() * span for _ in range(count))
    for n, offset in enumerate(offsets):
        key = rng.choices(keys, key_weights)[0]
        model_index = rng.choices(key["models"], key["weights"])[0]
        model, provider, price_in, price_out, median_ms = MODELS[model_index]
        endpoint = key["endpoint"] if rng.random() < 0.9 else rng.choice(ENDPOINTS)
        input_tokens = max(1, int(rng.lognormvariate(6.3, 1.1)))
        output_tokens = max(1, int(rng.lognormvariate(5.0, 0.9)))
        latency = median_ms * rng.lognormvariate(0, 0.5) * (rng.paretovariate(2.5) if rng.random() < 0.05 else 1)
        latency = round(latency, 1)
        throughput = output_tokens / (latency / 1000)
        cost_pico = (input_tokens * int(price_in * 10**6) + output_tokens * int(price_out * 10**6)) * 1000
        if rng.random() < 0.01:
            cost_pico = None
        occurred_at = start + timedelta(seconds=offset)
        generation_id = f"chatcmpl-fr-{first_id + n:016x}"
        pk = first_id + n
        generation = (
            pk,
            generation_id,
            model,
            provider,
            key["hash"],
            endpoint,
            key["byok"],
            cost_pico,
            cost_pico,
            cost_pico,
            input_tokens,
            output_tokens,
            input_tokens + output_tokens,
            latency / 60_000,
            output_tokens / (latency * 1e6),
            occurred_at,
            occurred_at,
            occurred_at,
            occurred_at + timedelta(milliseconds=latency),
            int(latency),
            occurred_at,
            latency,
            throughput,
            bin_index(latency),
            bin_index(throughput),
            fetched_at,
        )
        request, response, metadata = rng.choice(bodies)
        if pk % RARE_EVERY == 0:
            request = with_rare_word(request)
        body = (pk, request, response, metadata, json.dumps({"id": generation_id}), False)
        yield generation, body


GENERATION_COLUMNS = [
    "id",
    "generation_id",
    "model",
    "provider",
    "api_key_hash",
    "endpoint",
    "is_byok",
    "credits_used_pico",
    "usage_cost_pico",
    "cost_pico",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "avg_response_time_minutes",
    "avg_tokens_per_nano",
    "query_time",
    "upstream_created_at",
    "started_at",
    "completed_at",
    "duration_ms",
    "occurred_at",
    "latency_ms",
    "output_tokens_per_second",
    "latency_bin",
    "throughput_bin",
    "fetched_at",
]
BODY_COLUMNS = ["generation_id", "request", "response", "metadata", "raw_payload", "bodies_truncated"]
DATETIME_POSITIONS = [GENERATION_COLUMNS.index(name) for name in GENERATION_COLUMNS if name.endswith(("_at", "_time"))]


# Migration 0017's text search: PostgreSQL's GIN index, SQLite's FTS5 table and its insert trigger.
BODY_SEARCH_INDEX = "generations_body_search_idx"
BODY_SEARCH_TRIGGER = "generations_body_search_insert"


@contextmanager
def search_index_built_after():
    """The bodies' text search indexed once after the bulk write instead of row by row, which is
    many times slower (on SQLite, 100,000 bodies took 45 minutes through the trigger)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {BODY_SEARCH_INDEX}")
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [BODY_SEARCH_TRIGGER])
            trigger = cursor.fetchone()[0]
            cursor.execute(f"DROP TRIGGER {BODY_SEARCH_TRIGGER}")
            cursor.execute("SELECT COALESCE(MAX(rowid), 0) FROM generations_body_search")
            indexed = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            bodies = GenerationBody._meta.db_table
            cursor.execute(f"CREATE INDEX {BODY_SEARCH_INDEX} ON {bodies} USING gin (search_vector)")
        else:
            cursor.execute(
                "INSERT INTO generations_body_search (rowid, request, response) "
                "SELECT * FROM generations_body_text WHERE generation_id > %s",
                [indexed],
            )
            cursor.execute(trigger)


def write_sqlite(batch: list) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    generations = []
    for generation, _ in batch:
        row = list(generation)
        for position in DATETIME_POSITIONS:
            row[position] = adapt(row[position])
        generations.append(row)
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(GENERATION_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {Generation._meta.db_table} ({', '.join(GENERATION_COLUMNS)}) VALUES ({marks})",
            generations,
        )
        marks = ", ".join(["%s"] * len(BODY_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {GenerationBody._meta.db_table} ({', '.join(BODY_COLUMNS)}) VALUES ({marks})",
            [body for _, body in batch],
        )


def write_postgresql(batch: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {Generation._meta.db_table} ({', '.join(GENERATION_COLUMNS)}) FROM STDIN") as copy:
            for generation, _ in batch:
                copy.write_row(generation)
        with raw.copy(f"COPY {GenerationBody._meta.db_table} ({', '.join(BODY_COLUMNS)}) FROM STDIN") as copy:
            for _, body in batch:
                copy.write_row(body)


def add_rare_word() -> None:
    """RARE_WORD into the bodies generated without it (an update: the search index follows)."""
    began = time.perf_counter()
    bodies = [
        body
        for body in GenerationBody.objects.annotate(rest=Mod("generation_id", Value(RARE_EVERY)))
        .filter(rest=0)
        .only("request")
        if RARE_WORD not in json.dumps(body.request)
    ]
    for body in bodies:
        body.request["messages"][-1]["content"] += f" {RARE_WORD}"
    GenerationBody.objects.bulk_update(bodies, ["request"], batch_size=500)
    print(f"Added {RARE_WORD!r} to {len(bodies):,} bodies in {time.perf_counter() - began:.1f} s.")


# `--add-tags`: the generations whose id ends in 0, 1 or 2 (30 %) get one value of each name; a value
# is picked from the id so that some values are far more common than others.
TAGS = {
    "feature": ["search", "chat", "summarise", "translate", "classify", "extract", "draft", "review", "qa", "agent"],
    "customer": [f"customer-{n}" for n in range(1, 11)],
    "user": [f"user-{n}" for n in range(1, 13)],
}
TAGGED_SHARE = 3  # in 10


def add_tags() -> None:
    """Tag TAGGED_SHARE in 10 stored generations with every name of TAGS (one INSERT … SELECT per
    name; a generation already tagged keeps its tags), then rebuild the rollups."""
    began = time.perf_counter()
    table, generations = GenerationTag._meta.db_table, Generation._meta.db_table
    with connection.cursor() as cursor:
        for number, (key, values) in enumerate(TAGS.items()):
            # The value: k in 0..99 from the id, k² spread over the values, so the first are the commonest
            # (a third of the tagged generations have the first value, one in twenty the last).
            arms = " ".join(f"WHEN {index} THEN '{value}'" for index, value in enumerate(values))
            k = f"((g.id / 10) * {2 * number + 1} + {37 * number}) % 100"
            pick = f"({k}) * ({k}) / {10_000 // len(values) + 1}"
            cursor.execute(
                f"INSERT INTO {table} (generation_id, occurred_at, key, value) "
                f"SELECT g.id, g.occurred_at, '{key}', CASE {pick} {arms} END FROM {generations} AS g "
                f"WHERE g.id % 10 < {TAGGED_SHARE} "
                # NOT IN is read once into a hash; PostgreSQL would run NOT EXISTS as a scan of the
                # table per row (its statistics say empty), over the rows this statement adds.
                f"AND g.id NOT IN (SELECT t.generation_id FROM {table} AS t WHERE t.key = '{key}')"
            )
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"Tagged {GenerationTag.objects.count():,} tags in {time.perf_counter() - began:.1f} s.")
    began = time.perf_counter()
    rollups_rebuild()
    print(f"Rebuilt rollups in {time.perf_counter() - began:.1f} s.")


def add_copies(copies: int) -> None:
    """`copies` more copies of every stored generation, without bodies, each copy moved back by up
    to a day (so they fill the same hours), in one INSERT … SELECT per copy: a large PostgreSQL
    database in minutes where writing bodies runs at about 1,500 rows a second (SQLite writes 1M
    with bodies in 7 minutes). Then the rollups are rebuilt."""
    if connection.vendor != "postgresql":
        raise SystemExit("--add-copies is for PostgreSQL; generate SQLite rows with bodies instead")
    began = time.perf_counter()
    table = Generation._meta.db_table
    last = Generation.objects.aggregate(last=Max("id"))["last"] or 0
    moved_back = "make_interval(secs => (g.id * 7919 + {copy} * 104729) % 86400)"
    with connection.cursor() as cursor:
        for copy in range(1, copies + 1):
            values = {name: f"g.{name}" for name in GENERATION_COLUMNS if name != "id"}
            values["generation_id"] = f"g.generation_id || '-copy{copy}'"
            for position in DATETIME_POSITIONS:
                name = GENERATION_COLUMNS[position]
                values[name] = f"g.{name} - {moved_back.format(copy=copy)}"
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(values)}) SELECT {', '.join(values.values())} "
                f"FROM {table} AS g WHERE g.id <= {last} ORDER BY g.id"
            )
            print(f"copy {copy}: {time.perf_counter() - began:.0f} s", flush=True)
        cursor.execute(f"VACUUM ANALYZE {table}")
    began = time.perf_counter()
    rollups_rebuild()
    print(f"Rebuilt rollups in {time.perf_counter() - began:.1f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-rollups", action="store_true", help="skip rebuilding the rollups")
    parser.add_argument("--add-rare-word", action="store_true", help="only add RARE_WORD to stored bodies")
    parser.add_argument("--add-tags", action="store_true", help="only tag stored generations (see TAGS)")
    parser.add_argument("--add-copies", type=int, default=0, help="only add this many body-less copies of the stored")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if args.add_rare_word:
        add_rare_word()
        return
    if args.add_tags:
        add_tags()
        return
    if args.add_copies:
        add_copies(args.add_copies)
        return
    rng = random.Random(args.seed)
    keys = make_keys(random.Random(1))
    first_id = (Generation.objects.aggregate(last=Max("id"))["last"] or 0) + 1
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    span_per_batch = args.days * 86400 / max(1, -(-args.count // args.batch))
    write = write_postgresql if connection.vendor == "postgresql" else write_sqlite
    began = time.perf_counter()
    written = 0
    with search_index_built_after():
        while written < args.count:
            size = min(args.batch, args.count - written)
            batch_start = start + timedelta(seconds=span_per_batch * (written // args.batch))
            write(list(rows(rng, keys, first_id + written, size, batch_start, span_per_batch)))
            written += size
            rate = written / (time.perf_counter() - began)
            print(f"\r{written:,} generations ({rate:,.0f}/s)", end="", flush=True)
        print()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = Generation._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute(f"VACUUM ANALYZE {GenerationBody._meta.db_table}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"Wrote {written:,} generations in {time.perf_counter() - began:.1f} s.")
    if not args.no_rollups:
        began = time.perf_counter()
        rollups_rebuild()
        print(f"Rebuilt rollups in {time.perf_counter() - began:.1f} s.")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


if __name__ == "__main__":
    main()
