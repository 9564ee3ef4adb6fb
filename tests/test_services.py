import json
from datetime import UTC, datetime

import pytest
import responses

from generations import services
from generations.analytics.histograms import bin_index
from generations.analytics.rollups import rollup_totals, rollups_check
from generations.fastrouter.details import GenerationDetails
from generations.fastrouter.errors import MalformedResponse
from generations.models import Generation, GenerationBody
from generations.services import generation_store, generation_store_many
from tests.factories import FASTROUTER_URL, full_payload, minimal_payload

pytestmark = pytest.mark.django_db


def _details(payload: dict) -> GenerationDetails:
    return GenerationDetails.from_text(json.dumps(payload))


def test_store_is_an_idempotent_upsert():
    details = _details(full_payload("gen-1"))
    first = services.generation_store(generation_id="gen-1", details=details)
    second = services.generation_store(generation_id="gen-1", details=details)
    assert first.pk == second.pk
    assert Generation.objects.count() == 1
    assert GenerationBody.objects.count() == 1


def test_store_keeps_money_exact_and_derives_latency_and_throughput():
    generation = services.generation_store(generation_id="gen-1", details=_details(full_payload("gen-1")))
    assert generation.cost_pico == 4_731_000_000
    assert generation.credits_used_pico == 4_731_000_000
    assert generation.latency_ms == 2514
    assert generation.output_tokens_per_second == pytest.approx(233 / 2.514)
    assert generation.latency_bin == bin_index(2514)
    assert generation.occurred_at.isoformat() == "2025-11-20T09:14:27.512000+00:00"


def test_cost_falls_back_to_credits_and_latency_to_fastrouters_average():
    generation = services.generation_store(generation_id="GEN-ID", details=_details(minimal_payload()))
    assert generation.usage_cost_pico is None
    assert generation.cost_pico == 609_000_000
    assert generation.latency_ms == pytest.approx(0.03524546428333333 * 60_000)
    assert generation.total_tokens == 119


def test_unknown_cost_stays_unknown():
    payload = minimal_payload()
    del payload["credits_used"]
    generation = services.generation_store(generation_id="GEN-ID", details=_details(payload))
    assert generation.cost_pico is None


def test_unknown_extra_fields_are_kept_in_the_raw_payload():
    payload = full_payload("gen-1", cache_discount=0.5, new_thing={"a": 1})
    services.generation_store(generation_id="gen-1", details=_details(payload))
    raw = json.loads(GenerationBody.objects.get().raw_payload)
    assert raw["new_thing"] == {"a": 1}
    assert raw["cache_discount"] == 0.5


def test_fetch_sends_the_key_only_in_the_authorization_header(http_mock, settings):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-1"))
    services.generation_fetch(generation_id="gen-1")
    request = http_mock.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {settings.FASTROUTER_API_KEY}"
    assert settings.FASTROUTER_API_KEY not in request.url
    assert settings.FASTROUTER_API_KEY not in request.body.decode()


def test_malformed_answer_stores_nothing(http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-1", input_token_size="many"))
    with pytest.raises(MalformedResponse):
        services.generation_fetch(generation_id="gen-1")
    assert not Generation.objects.exists()


def details(generation_id: str, **overrides: object) -> GenerationDetails:
    return GenerationDetails.from_payload(full_payload(generation_id, **overrides))


def test_store_many_upserts_rows_and_bodies_once_per_id(db):
    generation_store_many(items=[("a", details("a")), ("b", details("b")), ("a", details("a", model="x/y"))])
    generation_store_many(items=[("b", details("b", endpoint="/v1/responses"))])
    assert Generation.objects.count() == 2
    assert Generation.objects.get(generation_id="a").model == "x/y"
    assert Generation.objects.get(generation_id="b").endpoint == "/v1/responses"
    body = GenerationBody.objects.get(generation__generation_id="a")
    assert body.request["messages"][0]["role"] == "system"
    assert body.raw_payload == ""


def test_store_many_stores_the_same_columns_as_store(db):
    generation_store(generation_id="one", details=details("one"))
    generation_store_many(items=[("many", details("many"))])
    one, many = (Generation.objects.filter(generation_id=gid).values().get() for gid in ("one", "many"))
    ignored = {"id", "generation_id", "fetched_at"}
    assert {k: v for k, v in one.items() if k not in ignored} == {k: v for k, v in many.items() if k not in ignored}


def test_a_refresh_that_moves_a_generation_moves_its_rollup_contribution(db):
    generation_store(generation_id="g", details=details("g", query_time="2025-11-20T09:14:27Z"))
    generation_store(generation_id="g", details=details("g", model="other/model", query_time="2025-11-23T01:00:00Z"))
    start, end = datetime(2025, 11, 19, tzinfo=UTC), datetime(2025, 11, 25, tzinfo=UTC)
    assert [(row["model"], row["requests"]) for row in rollup_totals(start, end, {}, ("model",))] == [
        ("other/model", 1)
    ]
    assert rollups_check() == []
