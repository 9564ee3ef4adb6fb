"""Read queries for the import pages (batch progress, failures, recent batches) and the Coverage page."""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from generations.analytics.histograms import BIN_RATIO, percentiles
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


# --------------------------------------------------------------------------- coverage

# Warn when queued ids have used this share of FastRouter's retention: there is still time to act.
RETENTION_WARNING_SHARE = 0.5
# Not-found ids are a warning once they are this share of a day's ids and more than the day before.
NOT_FOUND_WARNING_SHARE = 0.01
_SOURCE_LABELS = dict(LookupBatch.Source.choices)


@dataclass
class CoverageRow:
    """What became of the ids one source (one ingest token of it, when it has one) handed over in the range."""

    source: str
    token_id: int | None = None
    token_name: str = ""  # only staff see it (perms.generations.view_ingesttoken), as on the batch pages
    received: int = 0
    stored: int = 0
    queued: int = 0  # queued or being fetched
    not_found: int = 0
    failed: int = 0
    wait_bins: dict[int, int] = field(default_factory=dict, repr=False)  # received → stored, histogram bins

    @property
    def source_label(self) -> str:
        return _SOURCE_LABELS.get(self.source, "Before sources were recorded")

    @property
    def stored_percent(self) -> float | None:
        return 100 * self.stored / self.received if self.received else None

    @property
    def wait_p50_p95(self) -> list[float | None]:
        """Seconds from received to stored, at the 50th and 95th percentiles (within 4 %: histogram bins)."""
        return percentiles(self.wait_bins, (0.5, 0.95))

    def add(self, other: "CoverageRow") -> None:
        for name in ("received", "stored", "queued", "not_found", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for index, count in other.wait_bins.items():
            self.wait_bins[index] = self.wait_bins.get(index, 0) + count


@dataclass(frozen=True)
class Coverage:
    since: datetime
    rows: list[CoverageRow]
    total: CoverageRow
    queued_now: int
    oldest_queued_at: datetime | None
    warnings: list[str]


def coverage(*, length: timedelta, now: datetime | None = None) -> Coverage:
    """Per source and ingest token, the ids first received in the last ``length``: how many are stored,
    queued, not found after the grace period or failed, and how long storing took; plus warnings when ids
    are expiring before they are fetched. Four queries, whatever the number of rows."""
    now = now or timezone.now()
    since = now - length
    rows: dict[tuple[str, int | None], CoverageRow] = {}

    def row(source: str, token_id: int | None, token_name: str | None) -> CoverageRow:
        key = (source, token_id)
        if key not in rows:
            rows[key] = CoverageRow(source=source, token_id=token_id, token_name=token_name or "")
        return rows[key]

    counted = (
        LookupRequest.objects.filter(first_seen_at__gte=since)
        .values("source", "batch__ingest_token_id", "batch__ingest_token__name", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for group in counted:
        each = row(group["source"], group["batch__ingest_token_id"], group["batch__ingest_token__name"])
        each.received += group["n"]
        state = group["state"]
        attribute = "queued" if state in (State.QUEUED, State.FETCHING) else state
        setattr(each, attribute, getattr(each, attribute) + group["n"])
    for source, token_id, index, count in _wait_bins(since):
        # Every stored row was counted above, so its row exists already.
        rows[(source, token_id)].wait_bins[int(index)] = count

    total = CoverageRow(source="")
    for each in rows.values():
        total.add(each)
    ordered = sorted(rows.values(), key=lambda r: (-r.received, r.source_label, r.token_id or 0))
    pending = LookupRequest.objects.filter(state__in=(State.QUEUED, State.FETCHING)).aggregate(
        n=Count("id"), oldest=Min("first_seen_at")
    )
    warnings = _expiry_warnings(now=now, queued=pending["n"], oldest=pending["oldest"])
    return Coverage(
        since=since,
        rows=ordered,
        total=total,
        queued_now=pending["n"],
        oldest_queued_at=pending["oldest"],
        warnings=warnings,
    )


def _wait_bins(since: datetime) -> list[tuple[str, int | None, float, int]]:
    """(source, token id, histogram bin of the seconds from received to stored, count) of the stored ids
    received since ``since``: binned and counted in the database, so no row comes to Python."""
    if connection.vendor == "postgresql":
        seconds = "GREATEST(EXTRACT(EPOCH FROM (r.updated_at - r.first_seen_at)), 0.001)"
    else:  # SQLite keeps datetimes as ISO text; julianday() reads it
        seconds = "MAX((julianday(r.updated_at) - julianday(r.first_seen_at)) * 86400.0, 0.001)"
    requests = LookupRequest._meta.db_table
    batches = LookupBatch._meta.db_table
    # Table names are our own and the expression is a constant of this function; values are bound parameters.
    sql = f"""
        SELECT r.source, b.ingest_token_id, FLOOR(LN({seconds}) / %s) AS bin, COUNT(*)
        FROM {requests} r LEFT JOIN {batches} b ON b.id = r.batch_id
        WHERE r.state = %s AND r.first_seen_at >= %s
        GROUP BY r.source, b.ingest_token_id, bin
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [math.log(BIN_RATIO), State.STORED, connection.ops.adapt_datetimefield_value(since)])
        return cursor.fetchall()


def _expiry_warnings(*, now: datetime, queued: int, oldest: datetime | None) -> list[str]:
    """Why ids may expire at FastRouter before the worker fetches them, in words an operator can act on."""
    retention = timedelta(hours=settings.FASTROUTER_RETENTION_HOURS)
    limit = retention * RETENTION_WARNING_SHARE
    action = (
        "Run more fetch workers (FETCH_WORKER_CONCURRENCY) or raise FASTROUTER_MAX_RPM if your FastRouter "
        "plan allows it."
    )
    warnings = []
    if oldest is not None and now - oldest > limit:
        warnings.append(
            f"The oldest queued id arrived {_hours(now - oldest)} ago and FastRouter keeps generations for about "
            f"{_hours(retention)} (FASTROUTER_RETENTION_HOURS): ids are expiring before we fetch them. {action}"
        )
    drain = timedelta(minutes=queued / settings.FASTROUTER_MAX_RPM)
    if drain > limit:
        warnings.append(
            f"At FASTROUTER_MAX_RPM={settings.FASTROUTER_MAX_RPM} the {queued:,} queued ids take {_hours(drain)} "
            f"to fetch, more than half of FastRouter's retention ({_hours(retention)}): the rate limit is too low "
            "for the ids arriving."
        )
    day = timedelta(days=1)
    recent = LookupRequest.objects.filter(first_seen_at__gte=now - 2 * day).aggregate(
        received=Count("id", filter=Q(first_seen_at__gte=now - day)),
        not_found=Count("id", filter=Q(first_seen_at__gte=now - day, state=State.NOT_FOUND)),
        not_found_before=Count("id", filter=Q(first_seen_at__lt=now - day, state=State.NOT_FOUND)),
    )
    grew = recent["not_found"] > recent["not_found_before"]
    if grew and recent["not_found"] >= NOT_FOUND_WARNING_SHARE * recent["received"]:
        warnings.append(
            f"{recent['not_found']:,} of the {recent['received']:,} ids received in the last 24 hours were not found "
            f"at FastRouter after the grace period, up from {recent['not_found_before']:,} the day before: they "
            f"expired before we fetched them, or were never FastRouter's. {action}"
        )
    return warnings


def _hours(length: timedelta) -> str:
    hours = length.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
