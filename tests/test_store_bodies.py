"""STORE_BODIES: bodies kept in full, cut to a limit, or not at all (services.body_fields)."""

import json

import pytest
import responses
from django.urls import reverse

from generations.models import Generation
from tests.factories import FASTROUTER_URL, full_payload

pytestmark = pytest.mark.django_db


def _lookup(client, http_mock, payload: dict) -> Generation:
    http_mock.add(responses.POST, FASTROUTER_URL, json=payload)
    client.post(reverse("lookup"), {"generation_id": payload["id"]})
    return Generation.objects.select_related("body").get(generation_id=payload["id"])


def test_full_keeps_every_body_and_the_exact_payload(user_client, http_mock, settings):
    settings.STORE_BODIES = "full"
    generation = _lookup(user_client, http_mock, full_payload("gen-full", response={"text": "y" * 100_000}))
    assert generation.body.response == {"text": "y" * 100_000}
    assert json.loads(generation.body.raw_payload)["id"] == "gen-full"
    assert generation.body.bodies_truncated is False


def test_truncated_keeps_small_bodies_and_cuts_large_ones_to_the_limit(user_client, http_mock, settings):
    settings.STORE_BODIES = "truncated"
    settings.STORE_BODIES_LIMIT = 4096
    generation = _lookup(user_client, http_mock, full_payload("gen-cut", response={"text": "y" * 100_000}))
    body = generation.body
    assert body.request["messages"][0]["role"] == "system"
    assert isinstance(body.response, str)
    assert len(body.response) == 4096
    assert body.response.startswith('{"text": "yyy')
    assert body.raw_payload == ""
    assert body.bodies_truncated is True
    assert generation.cost_pico == 4_731_000_000


def test_truncated_leaves_a_small_call_whole(user_client, http_mock, settings):
    settings.STORE_BODIES = "truncated"
    generation = _lookup(user_client, http_mock, full_payload("gen-small"))
    assert generation.body.bodies_truncated is False
    assert json.loads(generation.body.raw_payload)["id"] == "gen-small"


def test_none_keeps_the_typed_row_but_no_body(user_client, http_mock, settings):
    settings.STORE_BODIES = "none"
    generation = _lookup(user_client, http_mock, full_payload("gen-none"))
    body = generation.body
    assert (body.request, body.response, body.metadata, body.raw_payload) == (None, None, None, "")
    assert body.bodies_truncated is True
    assert generation.model == "anthropic/claude-sonnet-4"
    page = user_client.get(reverse("generation-detail", args=["gen-none"])).content.decode()
    assert "STORE_BODIES" in page
    assert "Summarise the attached incident report" not in page


def test_a_cut_body_is_shown_as_text(user_client, http_mock, settings):
    settings.STORE_BODIES = "truncated"
    settings.STORE_BODIES_LIMIT = 2048
    _lookup(user_client, http_mock, full_payload("gen-cut-page", response={"text": "<b>" * 10_000}))
    page = user_client.get(reverse("generation-detail", args=["gen-cut-page"])).content.decode()
    assert "{&quot;text&quot;: &quot;&lt;b&gt;" in page
