"""Business logic: fetching generations from FastRouter and storing them."""

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from generations.analytics.histograms import bin_index
from generations.analytics.rollups import TAG_LEVELS, Touch, rollups_recompute, tag_times_follow, touches_of
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.details import GenerationDetails
from generations.fastrouter.errors import MalformedResponse, RateLimited
from generations.fastrouter.factory import fastrouter_client
from generations.fastrouter.rate_budget import RateBudget
from generations.models import Generation, GenerationBody, GenerationTag, ViewerPreference
from generations.money import to_pico
from generations.roles import fetch_allowance_spend

logger = logging.getLogger("generations.services")


def _latency_ms(details: GenerationDetails) -> float | None:
    if details.timing.duration_ms is not None:
        return float(details.timing.duration_ms)
    if details.avg_response_time_minutes_per_transaction is not None:
        return _finite(details.avg_response_time_minutes_per_transaction * 60_000)
    return None


def _finite(value: float) -> float | None:
    """None for an infinite result (derived from a huge, or tiny, upstream figure)."""
    return value if math.isfinite(value) else None


def _fit_column(name: str, value: str | None) -> str:
    """Cut text to its column's length: PostgreSQL refuses longer values; raw_payload keeps them whole."""
    return (value or "")[: Generation._meta.get_field(name).max_length]


def generation_fields(*, details: GenerationDetails, fetched_at: datetime) -> dict:
    """The typed columns of a Generation row, derived values included."""
    usage, timing = details.usage, details.timing
    input_tokens = details.input_token_size if details.input_token_size is not None else usage.prompt_tokens
    output_tokens = details.output_token_size if details.output_token_size is not None else usage.completion_tokens
    total_tokens = usage.total_tokens
    if total_tokens is None and input_tokens is not None and output_tokens is not None:
        total_tokens = input_tokens + output_tokens
    latency_ms = _latency_ms(details)
    throughput = None
    if latency_ms and output_tokens is not None:
        throughput = _finite(output_tokens / (latency_ms / 1000))
    cost = usage.cost if usage.cost is not None else details.credits_used
    return {
        "model": _fit_column("model", details.model),
        "provider": _fit_column("provider", details.provider_name),
        "api_key_hash": _fit_column("api_key_hash", details.api_key),
        "endpoint": _fit_column("endpoint", details.endpoint),
        "is_byok": details.is_byok,
        "credits_used_pico": to_pico(details.credits_used),
        "usage_cost_pico": to_pico(usage.cost),
        "cost_pico": to_pico(cost),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "avg_response_time_minutes": details.avg_response_time_minutes_per_transaction,
        "avg_tokens_per_nano": details.avg_tokens_per_nano,
        "query_time": details.query_time,
        "upstream_created_at": details.created_at,
        "started_at": timing.started_at,
        "completed_at": timing.completed_at,
        "duration_ms": timing.duration_ms,
        "occurred_at": details.query_time or details.created_at or timing.started_at or fetched_at,
        "latency_ms": latency_ms,
        "output_tokens_per_second": throughput,
        "latency_bin": bin_index(latency_ms),
        "throughput_bin": bin_index(throughput),
        "fetched_at": fetched_at,
    }


def _cut_body(value: object, limit: int) -> tuple[object, bool]:
    """A body as stored under STORE_BODIES=truncated: as is when small, else its first `limit` characters of JSON."""
    if value is None:
        return None, False
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= limit:
        return value, False
    return text[:limit], True


def body_fields(*, details: GenerationDetails) -> dict:
    """The GenerationBody columns, as settings.STORE_BODIES allows: full, truncated or none."""
    if settings.STORE_BODIES == "none":
        return {"request": None, "response": None, "metadata": None, "raw_payload": "", "bodies_truncated": True}
    if settings.STORE_BODIES == "truncated":
        limit = settings.STORE_BODIES_LIMIT
        fields: dict = {}
        cut_any = False
        for name in ("request", "response", "metadata"):
            fields[name], cut = _cut_body(getattr(details, name), limit)
            cut_any = cut_any or cut
        # A cut payload would be broken JSON: the whole exact payload, or none of it.
        raw_fits = len(details.raw_text) <= limit
        fields["raw_payload"] = details.raw_text if raw_fits else ""
        fields["bodies_truncated"] = cut_any or not raw_fits
        return fields
    return {
        "request": details.request,
        "response": details.response,
        "metadata": details.metadata,
        "raw_payload": details.raw_text,
        "bodies_truncated": False,
    }


BODY_COLUMNS = ["request", "response", "metadata", "raw_payload", "bodies_truncated"]  # in this order


@transaction.atomic
def generation_store(*, generation_id: str, details: GenerationDetails) -> Generation:
    """Insert or update one generation and its body; storing an id twice leaves one row.

    The rollup buckets the generation was in before (a refresh may change its model or time)
    and is in now are recomputed in the same transaction.
    """
    fields = generation_fields(details=details, fetched_at=timezone.now())
    before = touches_of(Generation.objects.select_for_update().filter(generation_id=generation_id))
    generation, _ = Generation.objects.update_or_create(generation_id=generation_id, defaults=fields)
    GenerationBody.objects.update_or_create(generation=generation, defaults=body_fields(details=details))
    tag_times_follow(GenerationTag.objects.filter(generation=generation))
    rollups_recompute(before | {Touch(generation.occurred_at, generation.model, generation.api_key_hash)})
    return generation


def _upsert_sql(table: str, columns: list[str], conflict: str, source: str) -> str:
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column != conflict)
    return f"INSERT INTO {table} ({', '.join(columns)}) {source} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


def _values(columns: list[str], rows: int) -> str:
    """VALUES (%s, …), (…) for `rows` rows: one statement parse for a whole chunk."""
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return "VALUES " + ", ".join([marks] * rows)


def _upsert_sqlite(
    cursor, table: str, columns: list[str], conflict: str, rows: list[tuple], *, chunk: int = 500
) -> None:
    """Multi-row INSERT … ON CONFLICT statements of `chunk` rows (SQLite allows 32,766 parameters)."""
    for offset in range(0, len(rows), chunk):
        part = rows[offset : offset + chunk]
        # Datetimes as Django stores them in SQLite (naive UTC text), without the ORM's per-field cost.
        params = [
            value.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime) else value
            for row in part
            for value in row
        ]
        cursor.execute(_upsert_sql(table, columns, conflict, _values(columns, len(part))), params)


def _upsert_postgresql(cursor, table: str, columns: list[str], conflict: str, rows: list[tuple]) -> None:
    """COPY into a temporary twin of the table, then one INSERT … SELECT … ON CONFLICT."""
    staging = f"staging_{table}"
    raw = cursor.cursor  # psycopg's own cursor: COPY support
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
    )
    raw.execute(f"DELETE FROM {staging}")  # noqa: S608 (earlier chunks of this transaction)
    with raw.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    raw.execute(_upsert_sql(table, columns, conflict, f"SELECT {', '.join(columns)} FROM {staging}"))  # noqa: S608


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value)


@transaction.atomic
def generation_store_many(*, items: list[tuple[str, GenerationDetails]], chunk: int = 2000) -> int:
    """`generation_store` for many generations at once (the ingest worker's path): bulk upserts of
    rows and bodies, `chunk` generations at a time (PostgreSQL: COPY + INSERT … SELECT … ON
    CONFLICT; SQLite: multi-row INSERT … ON CONFLICT statements of 500 rows), then one set-based
    recompute of every rollup bucket touched before or after. A later item with the same id wins.
    Returns the number of generations stored."""
    latest = dict(items)
    fetched_at = timezone.now()
    touches: set[Touch] = set()
    ids = list(latest)
    upsert = _upsert_postgresql if connection.vendor == "postgresql" else _upsert_sqlite
    body_columns = ["generation_id", *BODY_COLUMNS]
    with connection.cursor() as cursor:
        for offset in range(0, len(ids), chunk):
            part = ids[offset : offset + chunk]
            touches |= touches_of(Generation.objects.select_for_update().filter(generation_id__in=part))
            rows = {gid: generation_fields(details=latest[gid], fetched_at=fetched_at) for gid in part}
            columns = ["generation_id", *rows[part[0]]]
            upsert(
                cursor,
                Generation._meta.db_table,
                columns,
                "generation_id",
                [(gid, *fields.values()) for gid, fields in rows.items()],
            )
            pks = dict(Generation.objects.filter(generation_id__in=part).values_list("generation_id", "id"))
            tag_times_follow(GenerationTag.objects.filter(generation_id__in=pks.values()))
            bodies = []
            for gid in part:
                body = body_fields(details=latest[gid])
                bodies.append(
                    (
                        pks[gid],
                        _json(body["request"]),
                        _json(body["response"]),
                        _json(body["metadata"]),
                        body["raw_payload"],
                        body["bodies_truncated"],
                    )
                )
            upsert(cursor, GenerationBody._meta.db_table, body_columns, "generation_id", bodies)
            touches |= {Touch(f["occurred_at"], f["model"], f["api_key_hash"]) for f in rows.values()}
    rollups_recompute(touches)
    return len(latest)


@transaction.atomic
def generation_tags_add(*, tags: dict[str, dict[str, str]]) -> int:
    """Tag stored generations (generation id → clean tags): a key they already have takes the new value,
    other keys stay; the tag rollup buckets of the tagged generations are recomputed in the same
    transaction. Returns the number of tags written."""
    rows = []
    touches: set[Touch] = set()
    ids = list(tags)
    for offset in range(0, len(ids), 500):
        part = ids[offset : offset + 500]
        found = Generation.objects.filter(generation_id__in=part).values_list(
            "generation_id", "id", "occurred_at", "model", "api_key_hash"
        )
        stored = {}
        for gid, pk, occurred_at, model, key_hash in found:
            stored[gid] = (pk, occurred_at)
            touches.add(Touch(occurred_at, model, key_hash))
        rows += [
            GenerationTag(generation_id=stored[gid][0], occurred_at=stored[gid][1], key=key, value=value)
            for gid in part
            if gid in stored
            for key, value in tags[gid].items()
        ]
    GenerationTag.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["generation", "key"],
        update_fields=["value", "occurred_at"],
    )
    rollups_recompute(touches, levels=TAG_LEVELS)
    return len(rows)


def database_trouble(error: Exception) -> bool:
    """The database's own trouble (connection lost, lock timeout), not the answer's: worth trying again as is."""
    driver = connection.Database  # the bulk store's COPY raises the driver's errors, not Django's
    return isinstance(error, (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError))


def unstorable_reason(error: Exception) -> str:
    """What to tell users about an answer that could not be stored (no secret, no traceback)."""
    return f"FastRouter's answer could not be stored ({type(error).__name__}); the log has the details."


def generation_fetch(*, generation_id: str, client: FastRouterClient | None = None) -> Generation:
    """Fetch from FastRouter and store. Raises the client's typed errors (MalformedResponse for an
    answer the database refuses); on error nothing stored changes."""
    try:
        details = (client or fastrouter_client()).get_generation(generation_id)
    except RateLimited as error:
        if error.retry_after:
            # Every process waits as FastRouter asked, the fetch workers included.
            RateBudget(settings.FASTROUTER_MAX_RPM).pause(error.retry_after)
        raise
    try:
        return generation_store(generation_id=generation_id, details=details)
    except Exception as error:
        if database_trouble(error):
            raise
        # A value the client let through but no column or rollup can take: this answer's fault.
        logger.exception("Could not store generation %s.", generation_id)
        raise MalformedResponse(unstorable_reason(error)) from None


def generation_probe(*, generation_id: str) -> None:
    """Ask FastRouter for a generation without storing it: returns when it answers, else raises the
    client's typed errors (how `load_demo` waits for the simulator; storing is the worker's job)."""
    fastrouter_client().get_generation(generation_id)


def generation_lookup(*, generation_id: str, user: AbstractUser) -> Generation:
    """A stored generation without calling FastRouter (any role), else fetched once and kept:
    a fetch counts against the user's daily limit, or raises FetchRefused."""
    stored = Generation.objects.filter(generation_id=generation_id).first()
    if stored:
        return stored
    fetch_allowance_spend(user=user, ids=1)
    return generation_fetch(generation_id=generation_id)


def generation_refresh(*, generation_id: str, user: AbstractUser) -> Generation:
    """Fetch a stored generation again; counts against the user's daily limit, or raises FetchRefused."""
    fetch_allowance_spend(user=user, ids=1)
    return generation_fetch(generation_id=generation_id)


def viewer_set_time_zone(*, user: object, zone: str) -> None:
    """Remember the viewer's reporting zone (validated by the caller's form)."""
    ViewerPreference.objects.update_or_create(user=user, defaults={"time_zone": zone})


@dataclass(frozen=True)
class PurgeResult:
    generations: int
    bodies: int


def _delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete the rows of `queryset` a batch at a time, each batch its own short transaction.

    Deleting generations recomputes the rollup buckets they were in, in the same transaction,
    so the dashboards never count a purged generation.
    """
    model = queryset.model
    deleted = 0
    while pks := list(queryset.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            batch = model.objects.filter(pk__in=pks)
            touched = touches_of(batch) if model is Generation else set()
            deleted += batch.delete()[1].get(model._meta.label, 0)
            rollups_recompute(touched)
    return deleted


def generation_purge(
    *, older_than: datetime, bodies_only: bool = False, dry_run: bool = False, batch_size: int = 1000
) -> PurgeResult:
    """Retention: delete the bodies, or whole generations, of calls that occurred before `older_than`.

    Bodies go first, so an interrupted purge never leaves a body without its generation, and
    the typed rows the dashboards read are untouched by `bodies_only`. Returns what was (or,
    with `dry_run`, would be) deleted.
    """
    old_generations = Generation.objects.filter(occurred_at__lt=older_than)
    old_bodies = GenerationBody.objects.filter(generation__occurred_at__lt=older_than)
    if dry_run:
        return PurgeResult(generations=0 if bodies_only else old_generations.count(), bodies=old_bodies.count())
    bodies = _delete_in_batches(old_bodies, batch_size=batch_size)
    generations = 0 if bodies_only else _delete_in_batches(old_generations, batch_size=batch_size)
    return PurgeResult(generations=generations, bodies=bodies)
