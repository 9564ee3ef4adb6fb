from datetime import timedelta

import pytest
from django.utils import timezone

from generations.fastrouter.details import GenerationDetails
from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest, PendingImport
from generations.models import Generation, GenerationTag
from tests.factories import delete_generations, full_payload, make_generation

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


def test_preview_flags_new_ids_unlike_any_stored_one_without_refusing_them():
    make_generation("chatcmpl-stored")
    counts = queue.generation_import_preview(
        ids=["chatcmpl-new", "this-is-not-an-id", "gen_elsewhere", "42", "chatcmpl-stored"]
    )
    assert counts.new == 4
    assert counts.unfamiliar == 3
    assert counts.unfamiliar_examples == ("this-is-not-an-id", "gen_elsewhere", "42")


def test_preview_flags_nothing_before_anything_is_stored():
    counts = queue.generation_import_preview(ids=["this-is-not-an-id"])
    assert (counts.new, counts.unfamiliar) == (1, 0)


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


def test_stage_keeps_the_ids_pending_for_their_owner(user):
    make_generation("gen-stored")
    staged = queue.generation_import_stage(
        ids=["gen-stored", "gen-new"], user=user, source=LookupBatch.Source.PASTE, label="x", invalid=2, duplicates=1
    )
    assert (staged.counts.new, staged.counts.already_stored, staged.counts.invalid) == (1, 1, 2)
    assert (staged.pending.created_by, staged.pending.ids, staged.pending.invalid_count) == (
        user,
        "gen-stored\ngen-new",
        2,
    )
    assert LookupRequest.objects.count() == LookupBatch.objects.count() == 0


def test_stage_with_nothing_new_keeps_nothing(user):
    make_generation("gen-stored")
    staged = queue.generation_import_stage(ids=["gen-stored"], user=user, source=LookupBatch.Source.PASTE)
    assert staged.pending is None
    assert PendingImport.objects.count() == 0


def test_stage_drops_expired_previews_and_keeps_a_few_per_user(user, staff_user):
    def stage(owner, generation_id):
        return queue.generation_import_stage(ids=[generation_id], user=owner, source=LookupBatch.Source.PASTE).pending

    expired = stage(staff_user, "gen-old")
    PendingImport.objects.filter(pk=expired.pk).update(created_at=timezone.now() - queue.PREVIEW_LIFETIME)
    mine = [stage(user, f"gen-{n}") for n in range(queue.PREVIEWS_KEPT_PER_USER + 2)]
    kept = set(PendingImport.objects.values_list("pk", flat=True))
    assert kept == {p.pk for p in mine[-queue.PREVIEWS_KEPT_PER_USER :]}


def test_confirm_queues_the_pending_ids_once_as_a_claimable_batch(user):
    pending = queue.generation_import_stage(
        ids=["gen-a", "gen-b"], user=user, source=LookupBatch.Source.UPLOAD, label="ids.txt", invalid=3
    ).pending
    batch = queue.generation_import_confirm(pending_id=pending.pk, user=user)
    assert (batch.source, batch.label, batch.created_by, batch.new_count, batch.invalid_count) == (
        "upload",
        "ids.txt",
        user,
        2,
        3,
    )
    claimed = queue.lookup_claim(worker="w1", limit=5)
    assert sorted(r.generation_id for r in claimed) == ["gen-a", "gen-b"]
    assert {r.batch_id for r in claimed} == {batch.pk}
    with pytest.raises(queue.PreviewGone):
        queue.generation_import_confirm(pending_id=pending.pk, user=user)


def test_confirm_refuses_someone_elses_or_an_expired_preview(user, staff_user):
    pending = queue.generation_import_stage(ids=["gen-a"], user=user, source=LookupBatch.Source.PASTE).pending
    with pytest.raises(queue.PreviewGone):
        queue.generation_import_confirm(pending_id=pending.pk, user=staff_user)
    PendingImport.objects.update(created_at=timezone.now() - queue.PREVIEW_LIFETIME - timedelta(seconds=1))
    with pytest.raises(queue.PreviewGone):
        queue.generation_import_confirm(pending_id=pending.pk, user=user)
    assert LookupRequest.objects.count() == 0


def _store_claimed(worker: str = "w") -> None:
    claimed = queue.lookup_claim(worker=worker, limit=10)
    queue.lookup_record_stored(
        results=[(r, GenerationDetails.from_payload(full_payload(r.generation_id))) for r in claimed]
    )


def test_tags_of_the_request_arrive_on_the_stored_generation():
    queue.generation_enqueue(
        ids=["gen-a", "gen-b", "gen-c"],
        source=LookupBatch.Source.REPORTER,
        tags={"gen-a": {"feature": "search", "user": "42"}, "gen-b": {"feature": "chat"}},
    )
    _store_claimed()
    tags = set(GenerationTag.objects.values_list("generation__generation_id", "key", "value"))
    assert tags == {("gen-a", "feature", "search"), ("gen-a", "user", "42"), ("gen-b", "feature", "chat")}
    assert set(LookupRequest.objects.values_list("state", "source")) == {(State.STORED, "reporter")}


def test_a_refreshed_generation_takes_new_values_and_keeps_its_other_tags():
    queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.API, tags={"gen-a": {"feature": "search"}})
    _store_claimed()
    queue.generation_enqueue(
        ids=["gen-a"],
        source=LookupBatch.Source.REPORTER,
        refresh=True,
        tags={"gen-a": {"feature": "chat", "team": "x"}},
    )
    row = LookupRequest.objects.get()
    assert (row.state, row.source, row.tags) == (State.QUEUED, "reporter", {"feature": "chat", "team": "x"})
    _store_claimed()
    assert dict(GenerationTag.objects.values_list("key", "value")) == {"feature": "chat", "team": "x"}


def test_failed_ids_requeued_with_different_tags_each_keep_their_own():
    queue.generation_enqueue(ids=["gen-a", "gen-b", "gen-c"], source=LookupBatch.Source.CLI)
    LookupRequest.objects.update(state=State.FAILED)
    queue.generation_enqueue(
        ids=["gen-a", "gen-b", "gen-c"], source=LookupBatch.Source.API, tags={"gen-a": {"k": "1"}, "gen-b": {"k": "2"}}
    )
    rows = dict(LookupRequest.objects.values_list("generation_id", "tags"))
    assert rows == {"gen-a": {"k": "1"}, "gen-b": {"k": "2"}, "gen-c": {}}
    assert set(LookupRequest.objects.values_list("state", "source")) == {(State.QUEUED, "api")}


def test_an_id_already_queued_keeps_its_tags():
    queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.API, tags={"gen-a": {"k": "first"}})
    batch = queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.REPORTER, tags={"gen-a": {"k": "second"}})
    assert batch.already_queued_count == 1
    assert (LookupRequest.objects.get().tags, LookupRequest.objects.get().source) == ({"k": "first"}, "api")


def test_purging_a_generation_deletes_its_tags():
    queue.generation_enqueue(ids=["gen-a"], source=LookupBatch.Source.API, tags={"gen-a": {"k": "v"}})
    _store_claimed()
    delete_generations(Generation.objects.all())
    assert GenerationTag.objects.count() == 0
