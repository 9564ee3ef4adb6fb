"""The lookup queue: handing ids over (enqueue), and the worker's claim / record steps.

Every id has at most one `LookupRequest` row (generation_id is unique). Asking again for an
id that is stored or queued adds nothing; `refresh=True` re-queues stored ids on purpose.
Claims are safe with several workers on one database: PostgreSQL claims with
SELECT … FOR UPDATE SKIP LOCKED; other databases with a conditional UPDATE per row, so
only one worker's UPDATE can move a row from claimable to fetching.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from generations.fastrouter.details import GenerationDetails
from generations.ingest.models import IngestToken, LookupBatch, LookupRequest, PendingImport, WorkerStatus
from generations.models import Generation
from generations.roles import fetch_allowance_spend
from generations.services import generation_store_many, generation_tags_add

State = LookupRequest.State
PENDING_STATES = (State.QUEUED, State.FETCHING)
# Well under every database's limit on bound parameters.
CHUNK = 500
# How long a previewed import waits for its confirmation, and how many one user may have waiting.
PREVIEW_LIFETIME = timedelta(days=1)
PREVIEWS_KEPT_PER_USER = 5


def _chunks(items: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class ImportCounts:
    found: int
    new: int
    already_stored: int
    already_queued: int
    invalid: int = 0
    duplicates: int = 0
    # New ids unlike any stored one (a typo, a log line's other field): queued all the same.
    unfamiliar: int = 0
    unfamiliar_examples: tuple[str, ...] = ()


# An id's family is its leading letters and separator ("chatcmpl-", "gen-"); a pasted list has a
# handful of families, each checked with one index probe.
_ID_FAMILY = re.compile(r"[A-Za-z]{2,20}[-_]")
MAX_FAMILIES_CHECKED = 20
UNFAMILIAR_EXAMPLES = 5


def _id_family(generation_id: str) -> str:
    match = _ID_FAMILY.match(generation_id)
    return match.group(0) if match else ""


def _family_seen(family: str) -> bool:
    # A range rather than LIKE 'x%': SQLite only uses the index for LIKE under a NOCASE collation.
    return Generation.objects.filter(generation_id__gte=family, generation_id__lt=family + "\U0010ffff").exists()


def _unfamiliar(ids: list[str]) -> list[str]:
    """The ids whose family no stored id has; none when nothing is stored yet (nothing to go by)."""
    if not ids or not Generation.objects.exists():
        return []
    families = {_id_family(generation_id) for generation_id in ids} - {""}
    seen = {family for family in sorted(families)[:MAX_FAMILIES_CHECKED] if _family_seen(family)}
    return [generation_id for generation_id in ids if _id_family(generation_id) not in seen]


def _stored_and_queued(ids: list[str]) -> tuple[set[str], set[str]]:
    stored: set[str] = set()
    queued: set[str] = set()
    for chunk in _chunks(ids):
        stored.update(Generation.objects.filter(generation_id__in=chunk).values_list("generation_id", flat=True))
        queued.update(
            LookupRequest.objects.filter(generation_id__in=chunk, state__in=PENDING_STATES).values_list(
                "generation_id", flat=True
            )
        )
    return stored, queued - stored


def generation_import_preview(*, ids: list[str], invalid: int = 0, duplicates: int = 0) -> ImportCounts:
    """What enqueueing ``ids`` (already unique and valid) would do, without doing it."""
    stored, queued = _stored_and_queued(ids)
    unfamiliar = _unfamiliar([generation_id for generation_id in ids if generation_id not in stored | queued])
    return ImportCounts(
        found=len(ids),
        new=len(ids) - len(stored) - len(queued),
        already_stored=len(stored),
        already_queued=len(queued),
        invalid=invalid,
        duplicates=duplicates,
        unfamiliar=len(unfamiliar),
        unfamiliar_examples=tuple(unfamiliar[:UNFAMILIAR_EXAMPLES]),
    )


@dataclass(frozen=True)
class StagedImport:
    counts: ImportCounts
    pending: PendingImport | None  # None when nothing is new: there is nothing to confirm


class PreviewGone(Exception):
    user_message = "This preview has expired or was already queued; please preview the ids again."


def generation_import_stage(
    *, ids: list[str], user, source: str, label: str = "", invalid: int = 0, duplicates: int = 0
) -> StagedImport:
    """Count what queueing ``ids`` (unique and valid) would do, and keep them on the server,
    unqueued, for ``user`` to confirm (``generation_import_confirm``)."""
    counts = generation_import_preview(ids=ids, invalid=invalid, duplicates=duplicates)
    if not counts.new:
        return StagedImport(counts=counts, pending=None)
    with transaction.atomic():
        PendingImport.objects.filter(created_at__lt=timezone.now() - PREVIEW_LIFETIME).delete()
        older = PendingImport.objects.filter(created_by=user).order_by("-created_at", "-pk")
        PendingImport.objects.filter(
            pk__in=list(older.values_list("pk", flat=True)[PREVIEWS_KEPT_PER_USER - 1 :])
        ).delete()
        pending = PendingImport.objects.create(
            created_by=user, source=source, label=label[:200], ids="\n".join(ids), invalid_count=invalid
        )
    return StagedImport(counts=counts, pending=pending)


@transaction.atomic
def generation_import_confirm(*, pending_id: int, user) -> LookupBatch:
    """Queue ``user``'s previewed import once; raises PreviewGone when it expired, was already
    confirmed, or belongs to someone else."""
    if not user.is_authenticated:
        raise PreviewGone
    pending = (
        PendingImport.objects.select_for_update()
        .filter(pk=pending_id, created_by=user, created_at__gte=timezone.now() - PREVIEW_LIFETIME)
        .first()
    )
    if pending is None:
        raise PreviewGone
    pending.delete()
    return generation_enqueue(
        ids=pending.ids.split("\n"),
        source=pending.source,
        user=user,
        label=pending.label,
        invalid=pending.invalid_count,
    )


@transaction.atomic
def generation_enqueue(
    *,
    ids: Iterable[str],
    source: str,
    user: AbstractUser | None = None,
    label: str = "",
    invalid: int = 0,
    refresh: bool = False,
    tags: Mapping[str, dict[str, str]] | None = None,
    hints: Mapping[str, dict[str, str | int]] | None = None,
    ingest_token: IngestToken | None = None,
) -> LookupBatch:
    """Queue every id that is neither stored nor queued (and, with ``refresh``, stored ones too).
    A ``user`` (the web import) spends their daily limit on them, or FetchRefused queues nothing;
    the command line, the ingest API and the demo pass none. ``tags`` (id → clean tags, see
    `tags.clean_tags`), ``hints`` (id → what the sender said of the call) and ``source`` go on the
    rows this queues; an id already queued keeps its own."""
    tags = tags or {}
    hints = hints or {}
    unique = list(dict.fromkeys(ids))
    stored, queued = _stored_and_queued(unique)
    to_queue = [i for i in unique if i not in queued and (refresh or i not in stored)]
    if user is not None:
        fetch_allowance_spend(user=user, ids=len(to_queue))
    batch = LookupBatch.objects.create(
        source=source,
        label=label[:200],
        created_by=user if user is not None and user.is_authenticated else None,
        ingest_token=ingest_token,
        found_count=len(unique),
        new_count=len(unique) - len(stored) - len(queued),
        already_stored_count=len(stored),
        already_queued_count=len(queued),
        invalid_count=invalid,
    )
    now = timezone.now()
    for chunk in _chunks(to_queue):
        existing = dict(LookupRequest.objects.filter(generation_id__in=chunk).values_list("generation_id", "state"))
        # Rows that exist (finished earlier) are re-queued, one UPDATE per distinct set of tags and hints;
        # the rest are inserted. A row another process queued meanwhile is left alone (the state guard, ON CONFLICT).
        finished = defaultdict(list)
        for generation_id, state in existing.items():
            if state not in PENDING_STATES:
                labels = (_frozen(tags.get(generation_id)), _frozen(hints.get(generation_id)))
                finished[labels].append(generation_id)
        for (tag_items, hint_items), group in finished.items():
            LookupRequest.objects.filter(generation_id__in=group).exclude(state__in=PENDING_STATES).update(
                batch=batch, source=source, tags=dict(tag_items), hints=dict(hint_items), state=State.QUEUED,
                attempts=0, last_error="", next_attempt_at=now, claimed_by="", claim_expires_at=None, updated_at=now,
            )  # fmt: skip
        _insert_queued([i for i in chunk if i not in existing], batch=batch, tags=tags, hints=hints, now=now)
    return batch


def _frozen(labels: Mapping[str, object] | None) -> tuple:
    return tuple(sorted((labels or {}).items()))


def _insert_queued(
    ids: list[str],
    *,
    batch: LookupBatch,
    tags: Mapping[str, dict[str, str]],
    hints: Mapping[str, dict[str, str | int]],
    now: datetime,
) -> None:
    """New queued rows, skipping ids inserted meanwhile. One executemany: bulk_create built a model
    instance and prepared every field of every row in Python, most of the time of queueing 100,000 ids."""
    table = connection.ops.quote_name(LookupRequest._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(now)
    json_field = LookupRequest._meta.get_field("tags")
    empty = json_field.get_db_prep_value({}, connection)
    # The table's own name; every value is a bound parameter.
    sql = (
        f"INSERT INTO {table} (generation_id, batch_id, source, tags, hints, state, attempts, last_error, "  # noqa: S608
        "first_seen_at, next_attempt_at, claimed_by, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, 0, '', %s, %s, '', %s) ON CONFLICT (generation_id) DO NOTHING"
    )
    rows = [
        (
            i,
            batch.pk,
            batch.source,
            json_field.get_db_prep_value(tags[i], connection) if i in tags else empty,
            json_field.get_db_prep_value(hints[i], connection) if i in hints else empty,
            State.QUEUED,
            when,
            when,
            when,
        )
        for i in ids
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@transaction.atomic
def generation_batch_retry_failed(*, batch: LookupBatch, user: AbstractUser | None = None) -> int:
    """Re-queue the batch's failed and not-found ids; returns how many. A ``user`` spends their
    daily limit on them, or FetchRefused re-queues nothing."""
    retryable = LookupRequest.objects.filter(batch=batch, state__in=(State.FAILED, State.NOT_FOUND))
    if user is not None:
        fetch_allowance_spend(user=user, ids=retryable.count())
    now = timezone.now()
    return retryable.update(
        state=State.QUEUED, attempts=0, last_error="", next_attempt_at=now, claimed_by="", claim_expires_at=None,
        updated_at=now,
    )  # fmt: skip


# --------------------------------------------------------------------------- worker steps


def _claimable(now: datetime) -> Q:
    # A fetching row whose claim expired belongs to a worker that died: take it over.
    return Q(state=State.QUEUED, next_attempt_at__lte=now) | Q(state=State.FETCHING, claim_expires_at__lt=now)


def lookup_claim(*, worker: str, limit: int = 1) -> list[LookupRequest]:
    """Up to ``limit`` due rows, now marked fetching and claimed by ``worker`` (a unique name)."""
    now = timezone.now()
    claim = {
        "state": State.FETCHING,
        "claimed_by": worker,
        "claim_expires_at": now + timedelta(seconds=settings.FETCH_CLAIM_SECONDS),
        "updated_at": now,
    }
    due = LookupRequest.objects.filter(_claimable(now)).order_by("next_attempt_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            pks = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            LookupRequest.objects.filter(pk__in=pks).update(**claim)
    else:
        # No SKIP LOCKED (SQLite): the WHERE of each UPDATE re-checks claimability, so of two
        # workers racing for one row exactly one sees rowcount 1.
        pks = []
        for pk in due.values_list("pk", flat=True)[: limit * 4]:
            if LookupRequest.objects.filter(_claimable(now), pk=pk).update(**claim):
                pks.append(pk)
                if len(pks) == limit:
                    break
    return list(LookupRequest.objects.filter(pk__in=pks, claimed_by=worker))


def _finish_claimed(pks: list[int], claimed_by: str, **fields: object) -> int:
    """Write the outcome to the rows `claimed_by` still holds (a claim may have expired)."""
    fields = {"claimed_by": "", "claim_expires_at": None, "updated_at": timezone.now(), **fields}
    return LookupRequest.objects.filter(pk__in=pks, claimed_by=claimed_by, state=State.FETCHING).update(**fields)


def _finish(request: LookupRequest, **fields: object) -> bool:
    return bool(_finish_claimed([request.pk], request.claimed_by, **fields))


def lookup_record_stored(*, results: list[tuple[LookupRequest, GenerationDetails]]) -> None:
    """Store fetched generations, their requests' tags, and mark their rows stored, all in one
    transaction (a batch recomputes each touched rollup bucket once, however many of its generations it holds)."""
    claims = defaultdict(list)
    for request, _ in results:
        claims[request.claimed_by].append(request.pk)
    with transaction.atomic():
        generation_store_many(items=[(request.generation_id, details) for request, details in results])
        generation_tags_add(tags={request.generation_id: request.tags for request, _ in results if request.tags})
        for claimed_by, pks in claims.items():
            _finish_claimed(pks, claimed_by, state=State.STORED, attempts=F("attempts") + 1, last_error="")


def lookup_record_failed(*, request: LookupRequest, reason: str, state: str = State.FAILED) -> None:
    """Final: failed (or not found) with a reason users may read."""
    _finish(request, state=state, attempts=request.attempts + 1, last_error=reason[:300])


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, from FETCH_RETRY_BASE_SECONDS, capped at 10 minutes."""
    base = settings.FETCH_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return min(600.0, base * random.uniform(0.75, 1.25))


def lookup_record_transient(*, request: LookupRequest, reason: str) -> str:
    """A 5xx, timeout or malformed answer: retry later, or fail after FETCH_MAX_ATTEMPTS. Returns the new state."""
    attempts = request.attempts + 1
    if attempts >= settings.FETCH_MAX_ATTEMPTS:
        reason = f"Gave up after {attempts} attempts: {reason}"
        _finish(request, state=State.FAILED, attempts=attempts, last_error=reason[:300])
        return State.FAILED
    _finish(
        request,
        state=State.QUEUED,
        attempts=attempts,
        last_error=reason[:300],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_delay(attempts)),
    )
    return State.QUEUED


def lookup_record_not_found(*, request: LookupRequest, reason: str) -> str:
    """404: fresh ids may not be visible yet, so retry until the grace window from first sight ends."""
    now = timezone.now()
    grace_ends = request.not_found_grace_end
    if now >= grace_ends:
        lookup_record_failed(request=request, reason=reason, state=State.NOT_FOUND)
        return State.NOT_FOUND
    wait = min((grace_ends - now).total_seconds(), max(1.0, settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS / 10))
    _finish(
        request,
        state=State.QUEUED,
        last_error=LookupRequest.NOT_VISIBLE_YET,
        next_attempt_at=now + timedelta(seconds=wait),
    )
    return State.QUEUED


def lookup_release(*, request: LookupRequest, delay: float = 0.0) -> None:
    """Give a claimed row back untouched (rate limit, paused or stopping worker)."""
    _finish(request, state=State.QUEUED, next_attempt_at=timezone.now() + timedelta(seconds=delay))


def lookup_due() -> bool:
    """Is a row ready to be claimed now?"""
    return LookupRequest.objects.filter(_claimable(timezone.now())).exists()


def lookup_pending() -> bool:
    return LookupRequest.objects.filter(state__in=PENDING_STATES).exists()


def lookup_next_due() -> datetime | None:
    return LookupRequest.objects.filter(state=State.QUEUED).aggregate(due=Min("next_attempt_at"))["due"]


# --------------------------------------------------------------------------- worker status


def worker_status_auth_failed(*, worker: str, message: str) -> None:
    now = timezone.now()
    WorkerStatus.objects.update_or_create(
        pk=1, defaults={"auth_failed_at": now, "auth_message": message[:300], "worker": worker, "heartbeat_at": now}
    )


def worker_status_clear_auth(*, worker: str) -> None:
    WorkerStatus.objects.update_or_create(
        pk=1, defaults={"auth_failed_at": None, "auth_message": "", "worker": worker, "heartbeat_at": timezone.now()}
    )
