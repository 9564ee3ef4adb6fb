from datetime import timedelta

import pytest
from django.utils import timezone

from generations import queue
from generations.models import Generation, LookupBatch, LookupRequest
from tests.factories import make_generation

pytestmark = pytest.mark.django_db
State = LookupRequest.State


def test_enqueue_creates_one_row_per_new_id_and_counts_the_rest():
    make_generation("gen-stored")
    queue.generation_enqueue(ids=["gen-queued"], source=LookupBatch.Source.PASTE)
    batch = queue.generation_enqueue(
        ids=["gen-new", "gen-stored", "gen-queued", "gen-new"], source=LookupBatch.Source.CLI, invalid=2
    )
    assert (batch.found_count, batch.new_count, batch.already_stored_count, batch.already_queued_count) == (3, 1, 1, 1)
    assert batch.invalid_count == 2
    assert LookupRequest.objects.count() == 2
    assert LookupRequest.objects.get(generation_id="gen-new").batch == batch
    assert LookupRequest.objects.get(generation_id="gen-queued").batch != batch


def test_preview_counts_without_queueing():
    make_generation("gen-stored")
    counts = queue.generation_import_preview(ids=["gen-stored", "gen-new"], invalid=1, duplicates=3)
    assert (counts.found, counts.new, counts.already_stored, counts.already_queued) == (2, 1, 1, 0)
    assert LookupRequest.objects.count() == 0
    assert LookupBatch.objects.count() == 0


def test_refresh_requeues_stored_ids_deliberately():
    make_generation("gen-stored")
    LookupRequest.objects.create(
        generation_id="gen-stored", state=State.STORED, first_seen_at=timezone.now(), next_attempt_at=timezone.now()
    )
    plain = queue.generation_enqueue(ids=["gen-stored"], source=LookupBatch.Source.CLI)
    assert LookupRequest.objects.get().state == State.STORED
    assert plain.new_count == 0
    refreshed = queue.generation_enqueue(ids=["gen-stored"], source=LookupBatch.Source.CLI, refresh=True)
    row = LookupRequest.objects.get()
    assert (row.state, row.batch) == (State.QUEUED, refreshed)


def test_failed_ids_asked_for_again_are_requeued_not_duplicated():
    queue.generation_enqueue(ids=["gen-x"], source=LookupBatch.Source.CLI)
    LookupRequest.objects.update(state=State.FAILED, attempts=6, last_error="boom")
    batch = queue.generation_enqueue(ids=["gen-x"], source=LookupBatch.Source.PASTE)
    row = LookupRequest.objects.get()
    assert (row.state, row.attempts, row.last_error, row.batch) == (State.QUEUED, 0, "", batch)
    assert batch.new_count == 1


def test_claim_moves_due_rows_to_fetching_once():
    queue.generation_enqueue(ids=["gen-a", "gen-b"], source=LookupBatch.Source.CLI)
    LookupRequest.objects.filter(generation_id="gen-b").update(next_attempt_at=timezone.now() + timedelta(hours=1))
    first = queue.lookup_claim(worker="w1", limit=5)
    assert [r.generation_id for r in first] == ["gen-a"]
    assert first[0].state == State.FETCHING
    assert queue.lookup_claim(worker="w2", limit=5) == []


def test_an_expired_claim_is_taken_over_and_the_old_worker_cannot_overwrite_it():
    queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.CLI)
    [stale] = queue.lookup_claim(worker="dead")
    LookupRequest.objects.update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    [taken] = queue.lookup_claim(worker="alive")
    assert taken.claimed_by == "alive"
    queue.lookup_record_failed(request=stale, reason="late")
    assert LookupRequest.objects.get().state == State.FETCHING


def test_transient_failures_back_off_then_fail_with_the_reason(settings):
    settings.FETCH_MAX_ATTEMPTS = 2
    queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.CLI)
    [request] = queue.lookup_claim(worker="w")
    assert queue.lookup_record_transient(request=request, reason="HTTP 503") == State.QUEUED
    row = LookupRequest.objects.get()
    assert (row.state, row.attempts, row.last_error) == (State.QUEUED, 1, "HTTP 503")
    assert row.next_attempt_at > timezone.now()
    LookupRequest.objects.update(next_attempt_at=timezone.now())
    [request] = queue.lookup_claim(worker="w")
    assert queue.lookup_record_transient(request=request, reason="HTTP 503") == State.FAILED
    row = LookupRequest.objects.get()
    assert (row.state, row.attempts, row.last_error) == (State.FAILED, 2, "Gave up after 2 attempts: HTTP 503")


def test_retry_failed_requeues_only_the_batch_problems():
    batch = queue.generation_enqueue(ids=["gen-a", "gen-b", "gen-c"], source=LookupBatch.Source.CLI)
    LookupRequest.objects.filter(generation_id="gen-a").update(state=State.FAILED, last_error="x")
    LookupRequest.objects.filter(generation_id="gen-b").update(state=State.NOT_FOUND)
    LookupRequest.objects.filter(generation_id="gen-c").update(state=State.STORED)
    assert queue.generation_batch_retry_failed(batch=batch) == 2
    assert set(LookupRequest.objects.filter(state=State.QUEUED).values_list("generation_id", flat=True)) == {
        "gen-a",
        "gen-b",
    }
    assert Generation.objects.count() == 0
