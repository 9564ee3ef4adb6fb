"""The FastRouter key never reaches a page, a log record or an error message."""

import logging

import pytest
import responses
from django.urls import reverse

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.worker import FetchWorker, make_client
from tests.factories import FASTROUTER_URL, TEST_API_KEY, full_payload, make_generation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "json": full_payload("gen-1")},
        {"status": 401, "json": {"error": {"message": f"bad key {TEST_API_KEY}"}}},
        {"status": 404},
        {"status": 429, "headers": {"Retry-After": "5"}},
        {"status": 500, "body": f"<html>{TEST_API_KEY}</html>"},
        {"status": 200, "body": f"not json {TEST_API_KEY}"},
        # The key where the error message's excerpt of the body is cut.
        {"status": 200, "body": "x" * 45 + TEST_API_KEY},
    ],
)
def test_key_never_appears_in_pages_or_logs(staff_client, http_mock, caplog, answer):
    http_mock.add(responses.POST, FASTROUTER_URL, **answer)
    make_generation("gen-stored")
    caplog.set_level(logging.DEBUG)
    pages = [
        staff_client.post(reverse("lookup"), {"generation_id": "gen-1"}, follow=True),
        staff_client.post(reverse("lookup"), {"generation_id": "gen-1"}, headers={"HX-Request": "true"}),
        staff_client.post(reverse("generation-detail", args=["gen-stored"]), follow=True),
        staff_client.get(reverse("generation-detail", args=["gen-stored"])),
        staff_client.get(reverse("admin:index")),
    ]
    for page in pages:
        assert not pieces_of_the_key(page.content.decode())
    for record in caplog.records:
        assert not pieces_of_the_key(record.getMessage())
        assert not pieces_of_the_key(str(record.args))


def pieces_of_the_key(text: str, size: int = 8) -> list[str]:
    """The runs of `size` characters of the key that `text` shows."""
    pieces = {TEST_API_KEY[start : start + size] for start in range(len(TEST_API_KEY) - size + 1)}
    return [piece for piece in pieces if piece in text]


def test_no_piece_of_the_key_reaches_the_batch_page(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, body="x" * 45 + TEST_API_KEY)
    batch = queue.generation_enqueue(ids=["gen-1"], source=LookupBatch.Source.PASTE)
    [request] = queue.lookup_claim(worker="test-worker")
    FetchWorker(concurrency=1).process(request, make_client())
    last_error = LookupRequest.objects.get(generation_id="gen-1").last_error
    assert "[redacted]" in last_error
    assert not pieces_of_the_key(last_error)
    assert not pieces_of_the_key(user_client.get(reverse("batch-detail", args=[batch.pk])).content.decode())
