import io
import json
import os
import signal
import threading

import pytest
import responses
from django.core.management import CommandError, call_command
from django.db import connection

from fastrouter_simulator.server import demo_ids
from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.worker import RateLimiter
from generations.models import Generation
from tests.factories import FASTROUTER_URL, full_payload


@pytest.mark.django_db(transaction=True)
def test_once_drains_the_queue_and_exits(http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-a1"))
    queue.generation_enqueue(ids=["gen-a1"], source=LookupBatch.Source.CLI)
    out = io.StringIO()
    call_command("fetch_worker", "--once", "--concurrency", "1", stdout=out)
    assert LookupRequest.objects.get().state == "stored"
    assert "1 stored" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_once_stops_with_a_clear_error_when_the_key_is_rejected(http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, status=401, json={})
    queue.generation_enqueue(ids=["gen-a1"], source=LookupBatch.Source.CLI)
    with pytest.raises(CommandError, match=r"key was rejected.*stay queued"):
        call_command("fetch_worker", "--once", "--concurrency", "1", stdout=io.StringIO())
    assert LookupRequest.objects.get().state == "queued"


@pytest.mark.django_db
def test_bad_options_are_refused():
    with pytest.raises(CommandError, match="concurrency"):
        call_command("fetch_worker", "--concurrency", "0")


@pytest.mark.django_db
def test_load_demo_queues_the_demo_ids_as_a_batch(use_simulator):
    use_simulator()
    call_command("load_demo", "--count", "20", stdout=io.StringIO())
    call_command("load_demo", "--count", "20", stdout=io.StringIO())
    batch = LookupBatch.objects.order_by("pk").first()
    assert (batch.source, batch.new_count) == ("demo", 20)
    assert set(LookupRequest.objects.values_list("generation_id", flat=True)) == set(demo_ids(20))
    assert Generation.objects.count() == 0  # the worker stores them, not load_demo


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_fetch_in_flight_and_releases_other_claims(http_mock, monkeypatch):
    if connection.vendor == "sqlite":
        # Two threads write at once here (the store, the shared rate budget's row): SQLite's in-memory
        # test database (shared cache) answers "table is locked" instead of waiting as a file does.
        pytest.skip("needs a database whose writers wait for each other: runs on PostgreSQL")
    in_flight, waiting_for_slot, released = threading.Event(), threading.Event(), threading.Event()

    def slow_answer(request):
        in_flight.set()
        released.wait(10)  # still in flight while the worker stops and gives back the other claim
        return 200, {}, json.dumps(full_payload(json.loads(request.body)["generation_id"]))

    http_mock.add_callback(responses.POST, FASTROUTER_URL, callback=slow_answer)
    queue.generation_enqueue(ids=["gen-a1", "gen-b2", "gen-c3"], source=LookupBatch.Source.CLI)

    acquire, release = RateLimiter.acquire, queue.lookup_release
    calls = []

    def observed_acquire(self, stop_event):
        calls.append(1)
        if len(calls) == 2:
            waiting_for_slot.set()  # the second thread holds a claim and waits for a slot
        return acquire(self, stop_event)

    def observed_release(**kwargs):
        release(**kwargs)
        released.set()

    monkeypatch.setattr(RateLimiter, "acquire", observed_acquire)
    monkeypatch.setattr(queue, "lookup_release", observed_release)

    def terminate() -> None:
        in_flight.wait(10)
        waiting_for_slot.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate).start()
    # One request a minute: the second thread's claim waits for a slot until SIGTERM.
    call_command("fetch_worker", "--concurrency", "2", "--max-rpm", "1", stdout=io.StringIO())
    states = sorted(LookupRequest.objects.values_list("state", flat=True))
    assert states == ["queued", "queued", "stored"]
    assert Generation.objects.count() == 1
    assert not LookupRequest.objects.exclude(claimed_by="").exists()
