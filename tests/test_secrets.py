"""The FastRouter key never reaches a page, a log record or an error message."""

import logging

import pytest
import responses
from django.urls import reverse

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
        assert TEST_API_KEY not in page.content.decode()
    for record in caplog.records:
        assert TEST_API_KEY not in record.getMessage()
        assert TEST_API_KEY not in str(record.args)
