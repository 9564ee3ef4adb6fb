"""Read queries for the import pages: batch progress, failures, recent batches."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max
from django.utils import timezone

from generations.ingest.models import LookupBatch, LookupRequest, WorkerStatus

State = LookupRequest.State


@dataclass(frozen=True)
class BatchProgress:
    total: int
    queued: int
    fetching: int
    stored: int
    not_found: int
    failed: int
    rate_per_minute: float | None
    eta_seconds: float | None

    @property
    def done(self) -> int:
        return self.stored + self.not_found + self.failed

    @property
    def finished(self) -> bool:
        return self.queued + self.fetching == 0

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    @property
    def explained(self) -> int:
        return self.not_found + self.failed

    @property
    def segments(self) -> list[tuple[str, int, int]]:
        """The bar's coloured parts by outcome, as (outcome, start, width) in ids; the rest of
        the bar, still waiting, stays neutral."""
        parts, start = [], 0
        for outcome, count in (("stored", self.stored), ("not-found", self.not_found), ("failed", self.failed)):
            if count:
                parts.append((outcome, start, count))
                start += count
        return parts


def batch_progress(*, batch: LookupBatch, now: datetime | None = None) -> BatchProgress:
    rows = LookupRequest.objects.filter(batch=batch).values("state").annotate(n=Count("id"), last=Max("updated_at"))
    counts = {row["state"]: row["n"] for row in rows}
    last_done = max((row["last"] for row in rows if row["state"] not in (State.QUEUED, State.FETCHING)), default=None)
    progress = {state: counts.get(state, 0) for state in State.values}
    done = progress[State.STORED] + progress[State.NOT_FOUND] + progress[State.FAILED]
    remaining = progress[State.QUEUED] + progress[State.FETCHING]
    rate = eta = None
    end = (now or timezone.now()) if remaining else last_done
    if done and end is not None:
        elapsed = max((end - batch.created_at).total_seconds(), 1.0)
        rate = done / elapsed * 60
        eta = remaining / rate * 60 if remaining else 0.0
    return BatchProgress(
        total=sum(progress.values()),
        queued=progress[State.QUEUED],
        fetching=progress[State.FETCHING],
        stored=progress[State.STORED],
        not_found=progress[State.NOT_FOUND],
        failed=progress[State.FAILED],
        rate_per_minute=rate,
        eta_seconds=eta,
    )


@dataclass(frozen=True)
class WaitingId:
    generation_id: str
    attempts: int
    state: str  # in words
    until: datetime | None  # the end of the not-found grace period, or the next try


def _waiting_words(request: LookupRequest) -> tuple[str, datetime | None]:
    if request.state == State.FETCHING:
        return "being fetched now", None
    if request.last_error == LookupRequest.NOT_VISIBLE_YET:
        return "not visible at FastRouter yet; retrying until", request.not_found_grace_end
    if request.last_error:
        return f"{request.last_error.rstrip('.')}; next try at", request.next_attempt_at
    return "queued, not asked yet; first try at", request.next_attempt_at


def batch_waiting(*, batch: LookupBatch, limit: int = 200) -> list[WaitingId]:
    """The batch's ids still waiting, each with its state in words and until when."""
    rows = (
        LookupRequest.objects.filter(batch=batch, state__in=(State.QUEUED, State.FETCHING))
        .only("generation_id", "state", "last_error", "attempts", "first_seen_at", "next_attempt_at")
        .order_by("generation_id")[:limit]
    )
    return [WaitingId(row.generation_id, row.attempts, *_waiting_words(row)) for row in rows]


def batch_problems(*, batch: LookupBatch, limit: int = 200) -> list[LookupRequest]:
    """Failed and not-found ids of the batch, with their reasons."""
    return list(
        LookupRequest.objects.filter(batch=batch, state__in=(State.FAILED, State.NOT_FOUND))
        .only("generation_id", "state", "last_error", "attempts")
        .order_by("generation_id")[:limit]
    )


@dataclass(frozen=True)
class BatchRow:
    batch: LookupBatch
    queued: int
    stored: int
    problems: int

    @property
    def total(self) -> int:
        return self.queued + self.stored + self.problems


def recent_batches(*, limit: int = 50) -> list[BatchRow]:
    batches = list(LookupBatch.objects.select_related("created_by")[:limit])
    counts: dict[int, dict[str, int]] = {}
    for row in (
        LookupRequest.objects.filter(batch__in=batches).values("batch_id", "state").annotate(n=Count("id")).order_by()
    ):
        counts.setdefault(row["batch_id"], {})[row["state"]] = row["n"]
    result = []
    for batch in batches:
        c = counts.get(batch.pk, {})
        result.append(
            BatchRow(
                batch=batch,
                queued=c.get(State.QUEUED, 0) + c.get(State.FETCHING, 0),
                stored=c.get(State.STORED, 0),
                problems=c.get(State.FAILED, 0) + c.get(State.NOT_FOUND, 0),
            )
        )
    return result


def worker_auth_alert() -> str:
    """The message of a fetch worker paused because FastRouter rejected the key, else ''."""
    status = WorkerStatus.objects.filter(pk=1, auth_failed_at__isnull=False).only("auth_message").first()
    return status.auth_message if status else ""
