"""The Coverage selector: ids per source and token, their outcome, time to store, and the expiry warnings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.queue import generation_enqueue
from generations.ingest.selectors import coverage
from generations.ingest.tokens import ingest_token_create

pytestmark = pytest.mark.django_db
State = LookupRequest.State
DAY = timedelta(days=1)


def _ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(count)]


def _arrived(ids: list[str], *, ago: timedelta, state: str = State.QUEUED, stored_after: timedelta | None = None):
    """Set when ``ids`` arrived and what became of them (stored ``stored_after`` their arrival)."""
    arrived = timezone.now() - ago
    finished = arrived + stored_after if stored_after is not None else arrived
    LookupRequest.objects.filter(generation_id__in=ids).update(first_seen_at=arrived, updated_at=finished, state=state)


def test_each_source_and_token_has_its_row_with_every_outcome():
    checkout, _ = ingest_token_create(name="checkout")
    search, _ = ingest_token_create(name="search")
    generation_enqueue(ids=_ids("rep", 10), source=LookupBatch.Source.REPORTER, ingest_token=checkout)
    generation_enqueue(ids=_ids("otel", 4), source=LookupBatch.Source.OTLP, ingest_token=search)
    generation_enqueue(ids=_ids("tail", 3), source=LookupBatch.Source.FOLLOWER)
    generation_enqueue(ids=_ids("paste", 2), source=LookupBatch.Source.PASTE)
    _arrived(_ids("rep", 6), ago=timedelta(hours=2), state=State.STORED, stored_after=timedelta(seconds=30))
    _arrived(_ids("rep", 10)[6:8], ago=timedelta(hours=2), state=State.NOT_FOUND)
    _arrived(_ids("rep", 10)[8:9], ago=timedelta(hours=2), state=State.FAILED)
    _arrived(_ids("otel", 4), ago=timedelta(hours=3), state=State.FETCHING)
    _arrived(_ids("paste", 2), ago=3 * DAY, state=State.STORED)  # outside the last 24 hours

    report = coverage(length=DAY)
    rows = {(row.source_label, row.token_name): row for row in report.rows}
    assert list(rows) == [("Reporter", "checkout"), ("OpenTelemetry", "search"), ("Log follower", "")]
    assert rows[("Reporter", "checkout")].token_id == checkout.pk
    reporter = rows[("Reporter", "checkout")]
    assert (reporter.received, reporter.stored, reporter.queued, reporter.not_found, reporter.failed) == (
        10,
        6,
        1,
        2,
        1,
    )
    assert reporter.stored_percent == 60
    assert (rows[("OpenTelemetry", "search")].queued, rows[("Log follower", "")].queued) == (4, 3)
    assert (report.total.received, report.total.stored, report.queued_now) == (17, 6, 8)
    assert coverage(length=7 * DAY).total.received == 19


def test_time_to_store_percentiles_come_from_histogram_bins():
    generation_enqueue(ids=_ids("fast", 90) + _ids("slow", 10), source=LookupBatch.Source.API)
    _arrived(_ids("fast", 90), ago=timedelta(hours=1), state=State.STORED, stored_after=timedelta(seconds=12))
    _arrived(_ids("slow", 10), ago=timedelta(hours=1), state=State.STORED, stored_after=timedelta(minutes=40))
    p50, p95 = coverage(length=DAY).total.wait_p50_p95
    assert p50 == pytest.approx(12, rel=0.04)
    assert p95 == pytest.approx(2400, rel=0.04)


def test_an_id_stored_at_once_has_a_wait_not_an_error():
    generation_enqueue(ids=["gen-instant"], source=LookupBatch.Source.API)
    _arrived(["gen-instant"], ago=timedelta(minutes=1), state=State.STORED, stored_after=timedelta(0))
    p50, _ = coverage(length=DAY).total.wait_p50_p95
    assert p50 == pytest.approx(0.001, rel=0.04)


def test_a_healthy_queue_has_no_warnings():
    generation_enqueue(ids=_ids("ok", 50), source=LookupBatch.Source.REPORTER)
    _arrived(_ids("ok", 50), ago=timedelta(minutes=5))
    assert coverage(length=DAY).warnings == []


def test_ids_waiting_past_half_the_retention_are_a_warning(settings):
    settings.FASTROUTER_RETENTION_HOURS = 24
    generation_enqueue(ids=["gen-old"], source=LookupBatch.Source.REPORTER)
    _arrived(["gen-old"], ago=timedelta(hours=13))
    [warning] = coverage(length=DAY).warnings
    assert warning.startswith("The oldest queued id arrived 13.0 hours ago")
    assert "ids are expiring before we fetch them" in warning


def test_a_backlog_the_rate_limit_cannot_fetch_in_time_is_a_warning(settings):
    settings.FASTROUTER_RETENTION_HOURS = 1
    settings.FASTROUTER_MAX_RPM = 10
    generation_enqueue(ids=_ids("backlog", 400), source=LookupBatch.Source.OTLP)
    [warning] = coverage(length=DAY).warnings
    assert warning.startswith("At FASTROUTER_MAX_RPM=10 the 400 queued ids take 0.7 hours to fetch")


def test_growing_not_found_ids_are_a_warning():
    generation_enqueue(ids=_ids("today", 100) + _ids("yesterday", 100), source=LookupBatch.Source.API)
    _arrived(_ids("today", 100), ago=timedelta(hours=3), state=State.STORED)
    _arrived(_ids("today", 5), ago=timedelta(hours=3), state=State.NOT_FOUND)
    _arrived(_ids("yesterday", 100), ago=timedelta(hours=30), state=State.STORED)
    _arrived(_ids("yesterday", 1), ago=timedelta(hours=30), state=State.NOT_FOUND)
    [warning] = coverage(length=7 * DAY).warnings
    assert warning.startswith("5 of the 100 ids received in the last 24 hours were not found")
    assert "up from 1 the day before" in warning
    _arrived(_ids("yesterday", 6), ago=timedelta(hours=30), state=State.NOT_FOUND)
    assert coverage(length=7 * DAY).warnings == []  # falling, not growing
