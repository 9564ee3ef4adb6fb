from datetime import UTC, datetime

from generations.client import GenerationDetails
from generations.models import Generation, GenerationBody
from generations.rollups import rollup_totals, rollups_check
from generations.services import generation_store, generation_store_many
from tests.factories import full_payload


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
