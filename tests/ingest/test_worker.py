import json
import threading
import time
from datetime import timedelta
from email.utils import formatdate

import pytest
import requests
import responses
from django.db import DataError, OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from fastrouter_simulator.server import demo_ids
from generations import services
from generations.fastrouter.models import RateBudgetState
from generations.fastrouter.rate_budget import BUDGET_MINUTE_SECONDS, RateBudget
from generations.ingest import queue
from generations.ingest import worker as worker_module
from generations.ingest.models import LookupBatch, LookupRequest, WorkerStatus
from generations.ingest.worker import STORE_DELAY_SECONDS, FetchWorker, RateLimiter, StoreBuffer, make_client
from generations.models import Generation
from tests.factories import FASTROUTER_URL, TEST_API_KEY, full_payload, let_an_unstorable_time_through

State = LookupRequest.State
# A minute of the budget is BUDGET_MINUTE_SECONDS long (slack): at this rate its slots are one second apart.
ONE_PER_SECOND = BUDGET_MINUTE_SECONDS


class FixedClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def worker():
    w = FetchWorker(concurrency=1, max_rpm=60_000, once=True)
    w.limiter = RateLimiter(ONE_PER_SECOND, clock=FixedClock())
    return w


def _claim_one(generation_id: str = "gen-w1") -> LookupRequest:
    if not LookupRequest.objects.filter(generation_id=generation_id).exists():
        queue.generation_enqueue(ids=[generation_id], source=LookupBatch.Source.CLI)
    LookupRequest.objects.filter(generation_id=generation_id).update(next_attempt_at=timezone.now())
    [request] = queue.lookup_claim(worker="test-worker")
    return request


def fetch(worker: FetchWorker, request: LookupRequest) -> None:
    """Process one claimed row and store what the batch holds (the worker does so within half a second)."""
    worker.process(request, make_client())
    worker.stored.flush()


def _row(generation_id: str = "gen-w1") -> LookupRequest:
    return LookupRequest.objects.get(generation_id=generation_id)


class ClockEvent:
    """A stop event that is never set: waiting on it moves `clock` on, and runs `on_wait` once."""

    def __init__(self, clock: FixedClock, on_wait=lambda: None) -> None:
        self.clock, self.on_wait = clock, on_wait

    def is_set(self) -> bool:
        return False

    def wait(self, seconds: float) -> bool:
        self.on_wait()
        self.on_wait = lambda: None
        self.clock.now += seconds
        return False


def _events() -> tuple[threading.Event, threading.Event]:
    running, stopped = threading.Event(), threading.Event()
    stopped.set()
    return running, stopped


@pytest.mark.django_db
def test_rate_limiter_spaces_slots_and_a_pause_holds_everyone():
    clock = FixedClock()
    limiter = RateLimiter(ONE_PER_SECOND, clock=clock)
    running, stopped = _events()
    assert limiter.acquire(running) is True
    # The next slot is one second away: with stop set, acquire gives up instead of waiting.
    assert limiter.acquire(stopped) is False
    clock.now += 5
    limiter.pause(30)
    assert limiter.budget.paused_until() == 1035
    assert limiter.is_paused()
    assert limiter.acquire(stopped) is False
    clock.now += 31
    assert limiter.acquire(running) is True


@pytest.mark.django_db
def test_rate_limiter_never_catches_up_the_slots_a_pause_missed():
    clock = FixedClock()
    limiter = RateLimiter(ONE_PER_SECOND, clock=clock)
    limiter.pause(10)
    clock.now += 10
    # Ten slots went by unused; sending them now would put more than 60 into some minute.
    assert limiter.acquire(ClockEvent(clock)) is True
    assert clock.now == 1010
    assert limiter.acquire(ClockEvent(clock)) is True
    assert clock.now == 1011


@pytest.mark.django_db
def test_two_workers_share_one_budget():
    # Two limiters stand for two worker processes (a real second process: test_rate_budget.py).
    clock = FixedClock()
    first, second = RateLimiter(ONE_PER_SECOND, clock=clock), RateLimiter(ONE_PER_SECOND, clock=clock)
    assert first.acquire(threading.Event()) is True
    assert second.acquire(ClockEvent(clock)) is True
    assert clock.now == 1001  # the slot after the first worker's
    first.pause(30)
    assert second.is_paused()


@pytest.mark.django_db
def test_a_pause_after_a_slot_was_taken_moves_that_slot_past_the_pause():
    clock = FixedClock()
    first, second = RateLimiter(ONE_PER_SECOND, clock=clock), RateLimiter(ONE_PER_SECOND, clock=clock)
    assert first.acquire(threading.Event()) is True
    # The second worker's slot is at 1001; while it waits, the first worker is answered 429 + Retry-After: 30.
    assert second.acquire(ClockEvent(clock, on_wait=lambda: first.pause(30))) is True
    assert clock.now == 1030


@pytest.mark.django_db
def test_workers_leave_the_nearest_slots_to_lookups():
    clock = FixedClock()
    budget = RateBudget(ONE_PER_SECOND, clock=clock)
    budget.take()
    budget.take()  # other processes hold the slots at 1000 and 1001
    lookup_waits = []
    worker = RateLimiter(ONE_PER_SECOND, clock=clock)
    # The worker does not take the slot two seconds away: a lookup arriving meanwhile gets it.
    assert worker.acquire(ClockEvent(clock, on_wait=lambda: lookup_waits.append(budget.take(max_wait=2)))) is True
    assert lookup_waits == [2]
    assert clock.now == 1003


@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_takes_no_slot_of_the_shared_budget():
    FetchWorker(concurrency=2, max_rpm=60, once=True, idle_seconds=0.01).run()
    assert not RateBudgetState.objects.filter(next_free_at__gt=0).exists()


@pytest.mark.django_db
def test_a_rejected_key_holds_only_this_worker():
    clock = FixedClock()
    first, second = RateLimiter(ONE_PER_SECOND, clock=clock), RateLimiter(ONE_PER_SECOND, clock=clock)
    first.hold(60)
    assert first.is_paused()
    assert not second.is_paused()
    assert second.acquire(threading.Event()) is True


@pytest.mark.django_db
def test_success_is_stored_and_marked(worker, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-w1"))
    fetch(worker, _claim_one())
    row = _row()
    assert (row.state, row.attempts, row.claimed_by) == (State.STORED, 1, "")
    assert Generation.objects.filter(generation_id="gen-w1").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_honours_retry_after_in_both_forms_and_pauses_the_whole_worker(worker, http_mock, form):
    retry_after = "7" if form == "seconds" else formatdate(time.time() + 7, usegmt=True)
    http_mock.add(responses.POST, FASTROUTER_URL, status=429, headers={"Retry-After": retry_after}, json={})
    fetch(worker, _claim_one())
    assert worker.limiter.budget.paused_until() == pytest.approx(1007, abs=1.5)
    row = _row()
    assert (row.state, row.attempts) == (State.QUEUED, 0)
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=5)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500, "json": {"error": {"message": "boom"}}},
        {"status": 503, "json": {}},
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"status": 200, "body": "<html>oops</html>"},
        {"status": 200, "json": ["not", "an", "object"]},
    ],
    ids=["500", "503", "timeout", "html", "array"],
)
def test_transient_faults_are_retried_with_backoff_then_fail(worker, http_mock, settings, reply):
    settings.FETCH_MAX_ATTEMPTS = 2
    http_mock.add(responses.POST, FASTROUTER_URL, **reply)
    fetch(worker, _claim_one())
    row = _row()
    assert (row.state, row.attempts) == (State.QUEUED, 1)
    assert row.last_error
    assert row.next_attempt_at > timezone.now()
    fetch(worker, _claim_one())
    row = _row()
    assert row.state == State.FAILED
    assert row.last_error.startswith("Gave up after 2 attempts")


@pytest.mark.django_db
def test_404_within_the_grace_window_is_retried_and_then_found(worker, http_mock, settings):
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 600
    http_mock.add(responses.POST, FASTROUTER_URL, status=404, json={})
    fetch(worker, _claim_one())
    row = _row()
    assert row.state == State.QUEUED
    assert "Not visible" in row.last_error
    assert timezone.now() < row.next_attempt_at <= timezone.now() + timedelta(seconds=61)
    http_mock.replace(responses.POST, FASTROUTER_URL, json=full_payload("gen-w1"))
    fetch(worker, _claim_one())
    assert _row().state == State.STORED


@pytest.mark.django_db
def test_404_after_the_grace_window_is_not_found(worker, http_mock, settings):
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 600
    http_mock.add(responses.POST, FASTROUTER_URL, status=404, json={})
    request = _claim_one()
    LookupRequest.objects.update(first_seen_at=timezone.now() - timedelta(seconds=601))
    request.refresh_from_db()
    fetch(worker, request)
    row = _row()
    assert row.state == State.NOT_FOUND
    assert row.last_error == "FastRouter has no generation with this id, or it has expired."


@pytest.mark.django_db
def test_400_fails_at_once(worker, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, status=400, json={})
    fetch(worker, _claim_one())
    row = _row()
    assert (row.state, row.attempts) == (State.FAILED, 1)
    assert "invalid" in row.last_error


@pytest.mark.django_db
def test_401_pauses_the_worker_keeps_the_id_queued_and_alerts_the_web_ui(worker, http_mock, user_client):
    http_mock.add(responses.POST, FASTROUTER_URL, status=401, json={})
    fetch(worker, _claim_one())
    assert _row().state == State.QUEUED
    assert worker.stop_event.is_set()
    assert "rejected" in worker.auth_error
    page = user_client.get(reverse("lookup")).content.decode()
    assert "The fetch worker is paused" in page
    assert TEST_API_KEY not in page
    # The next success (a fixed key) clears the alert.
    http_mock.replace(responses.POST, FASTROUTER_URL, json=full_payload("gen-w1"))
    fetch(worker, _claim_one())
    assert WorkerStatus.objects.get().auth_failed_at is None
    assert "The fetch worker is paused" not in user_client.get(reverse("lookup")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_worker_against_the_faulty_simulator_stores_or_explains_every_id_once(use_simulator, settings):
    server = use_simulator(error_rate=0.08, seed=3)
    settings.FETCH_RETRY_BASE_SECONDS = 0.01
    settings.FETCH_MAX_ATTEMPTS = 20
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 0
    ids = demo_ids(500)
    unknown = [f"gen-unknown-{n}" for n in range(5)]
    queue.generation_enqueue(ids=ids + unknown, source=LookupBatch.Source.CLI)
    # SQLite's in-memory test database (shared cache) answers "table is locked" instead of
    # waiting when threads write at once; a file database (production) waits, so on SQLite
    # one thread here, on PostgreSQL four.
    threads = 4 if connection.vendor == "postgresql" else 1
    FetchWorker(concurrency=threads, max_rpm=600_000, once=True, idle_seconds=0.05).run()
    counts = server.status_counts()
    states = dict(LookupRequest.objects.values_list("generation_id", "state"))
    assert {states[i] for i in ids} == {State.STORED}
    assert {states[i] for i in unknown} == {State.NOT_FOUND}
    assert Generation.objects.count() == 500
    assert Generation.objects.values("generation_id").distinct().count() == 500
    # Exactly one 200 per id: nothing was fetched again after it succeeded.
    assert counts[200] == 500
    assert sum(counts.get(s, 0) for s in (500, 502, 503)) > 10


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_row_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SELECT … FOR UPDATE SKIP LOCKED needs PostgreSQL; SQLite uses the conditional UPDATE path")
    queue.generation_enqueue(ids=[f"gen-race-{n}" for n in range(300)], source=LookupBatch.Source.CLI)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claim_all(name: str) -> None:
        start.wait()
        try:
            while batch := queue.lookup_claim(worker=name, limit=3):
                claimed[name].extend(r.pk for r in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_all, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 300
    assert claimed["a"] and claimed["b"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "state"),
    [(DataError("value too long"), State.FAILED), (OperationalError("database is locked"), State.QUEUED)],
    ids=["the-answer-at-fault", "the-database-at-fault"],
)
def test_an_answer_that_cannot_be_stored_fails_with_its_reason_unless_the_database_is_at_fault(
    worker, http_mock, monkeypatch, error, state
):
    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(queue, "generation_store_many", refuse)
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-w1"))
    fetch(worker, _claim_one())
    row = _row()
    assert (row.state, row.attempts) == (state, 1)
    assert row.last_error == services.unstorable_reason(error)
    assert type(error).__name__ in row.last_error


@pytest.mark.django_db
def test_fetched_generations_are_stored_together_within_the_store_delay(worker, http_mock):
    clock = FixedClock()
    worker.stored = StoreBuffer(worker.stats, clock=clock)
    for generation_id in ("gen-w1", "gen-w2"):
        http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload(generation_id))
        worker.process(_claim_one(generation_id), make_client())
    worker.stored.flush_due()
    assert not Generation.objects.exists()
    assert {_row("gen-w1").state, _row("gen-w2").state} == {State.FETCHING}
    clock.now += STORE_DELAY_SECONDS
    worker.stored.flush_due()
    assert set(Generation.objects.values_list("generation_id", flat=True)) == {"gen-w1", "gen-w2"}
    assert {_row("gen-w1").state, _row("gen-w2").state} == {State.STORED}
    assert worker.stats.stored == 2


@pytest.mark.django_db
def test_one_answer_that_cannot_be_stored_does_not_hold_back_its_batch(worker, http_mock, monkeypatch):
    from django.db import DataError

    store_many = queue.generation_store_many

    def refuse_the_bad_one(*, items):
        if any(generation_id == "gen-bad" for generation_id, _ in items):
            raise DataError("value too long")
        return store_many(items=items)

    monkeypatch.setattr(queue, "generation_store_many", refuse_the_bad_one)
    for generation_id in ("gen-w1", "gen-bad", "gen-w2"):
        http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload(generation_id))
        worker.process(_claim_one(generation_id), make_client())
    worker.stored.flush()
    assert set(Generation.objects.values_list("generation_id", flat=True)) == {"gen-w1", "gen-w2"}
    assert (_row("gen-bad").state, _row("gen-bad").attempts) == (State.FAILED, 1)
    assert "could not be stored (DataError)" in _row("gen-bad").last_error
    assert (worker.stats.stored, worker.stats.failed) == (2, 1)


def _answer_by_id(http_mock, answers: dict[str, dict]) -> None:
    """FastRouter answering each id with its own payload."""

    def answer(request):
        return 200, {}, json.dumps(answers[json.loads(request.body)["generation_id"]])

    http_mock.add_callback(responses.POST, FASTROUTER_URL, callback=answer, content_type="application/json")


def _run_worker(ids: list[str], **options) -> FetchWorker:
    """The real worker, one thread (see the simulator test), until the queue is empty."""
    queue.generation_enqueue(ids=ids, source=LookupBatch.Source.CLI)
    worker = FetchWorker(concurrency=1, max_rpm=600_000, once=True, idle_seconds=0.05, **options)
    worker.run()
    return worker


@pytest.mark.django_db(transaction=True)
def test_odd_answers_are_stored_with_the_odd_field_unknown_and_the_worker_carries_on(http_mock):
    good = [f"gen-good-{n}" for n in range(6)]
    odd = {
        "gen-zero-time": {"query_time": "0001-01-01T00:00:00Z"},  # Go's zero time
        "gen-end-of-time": {"query_time": "9999-12-31T23:59:59Z"},
        "gen-huge-tokens": {"input_token_size": 10**20, "usage": {"prompt_tokens": 10**20, "cost": "1e400"}},
    }
    answers = {gid: full_payload(gid) for gid in good} | {gid: full_payload(gid, **odd[gid]) for gid in odd}
    _answer_by_id(http_mock, answers)
    _run_worker(good[:3] + list(odd) + good[3:])
    assert set(LookupRequest.objects.values_list("state", flat=True)) == {State.STORED}
    stored = {g.generation_id: g for g in Generation.objects.select_related("body")}
    assert set(stored) == set(answers)
    assert stored["gen-zero-time"].query_time is None
    assert '"query_time": "0001-01-01T00:00:00Z"' in stored["gen-zero-time"].body.raw_payload
    assert stored["gen-end-of-time"].query_time is None
    huge = stored["gen-huge-tokens"]
    assert (huge.input_tokens, huge.total_tokens, huge.usage_cost_pico) == (None, None, None)
    assert str(10**20) in huge.body.raw_payload


@pytest.mark.django_db(transaction=True)
def test_an_answer_that_cannot_be_stored_fails_alone_and_the_worker_carries_on(http_mock, monkeypatch):
    # Batches of four: the bad answer spoils the first one, and later batches must still be stored.
    monkeypatch.setattr(worker_module, "STORE_BATCH", 4)
    let_an_unstorable_time_through(monkeypatch, generation_id="gen-bad")
    good = [f"gen-good-{n}" for n in range(10)]
    _answer_by_id(http_mock, {gid: full_payload(gid) for gid in [*good, "gen-bad"]})
    worker = _run_worker([good[0], "gen-bad", *good[1:]])
    assert set(Generation.objects.values_list("generation_id", flat=True)) == set(good)
    assert set(LookupRequest.objects.filter(generation_id__in=good).values_list("state", flat=True)) == {State.STORED}
    bad = _row("gen-bad")
    assert (bad.state, bad.attempts) == (State.FAILED, 1)
    assert bad.last_error == "FastRouter's answer could not be stored (OverflowError); the log has the details."
    assert (worker.stats.stored, worker.stats.failed) == (10, 1)
