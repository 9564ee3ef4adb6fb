"""Test data: FastRouter payloads and stored generations."""

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from generations.analytics.histograms import bin_index
from generations.analytics.rollups import Touch, rollups_recompute, touches_of
from generations.fastrouter.client import FastRouterClient
from generations.models import Generation, GenerationBody

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"
FASTROUTER_URL = "https://fastrouter.test/api/v1/generation"
TEST_API_KEY = "test-key-never-shown-4242"


def full_payload(generation_id: str = "chatcmpl-fr-7d41c0a2e9b84f61", **overrides: object) -> dict:
    payload = json.loads((SAMPLES / "generation-full.json").read_text())
    payload["id"] = generation_id
    payload.update(copy.deepcopy(overrides))
    return payload


def let_an_unstorable_time_through(monkeypatch, *, generation_id: str | None = None) -> None:
    """Make the client pass the calendar's last minute on as query_time (for one id, or every id),
    as a client missing a range check would: for tests of what storing does with a value it cannot
    take (its rollup hour would end in the year 10000)."""
    fetch = FastRouterClient.get_generation

    def fetch_with_a_gap(self, fetched_id: str):
        details = fetch(self, fetched_id)
        if generation_id not in (None, fetched_id):
            return details
        return dataclasses.replace(details, query_time=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))

    monkeypatch.setattr(FastRouterClient, "get_generation", fetch_with_a_gap)


def minimal_payload(generation_id: str = "GEN-ID") -> dict:
    payload = json.loads((SAMPLES / "generation-minimal.json").read_text())
    payload["id"] = generation_id
    return payload


def generation_fields(**fields: object) -> dict[str, object]:
    """A stored generation's columns: typical values, `fields` over them, and the bins they imply."""
    defaults: dict[str, object] = {
        "model": "openai/gpt-4o-mini",
        "provider": "openai",
        "api_key_hash": "sha256:aaaabbbbcccc",
        "endpoint": "/v1/chat/completions",
        "is_byok": False,
        "cost_pico": 1_234_000_000,
        "credits_used_pico": 1_234_000_000,
        "input_tokens": 100,
        "output_tokens": 50,
        "total_tokens": 150,
        "latency_ms": 1200.0,
        "output_tokens_per_second": 50 / 1.2,
        "occurred_at": datetime(2025, 11, 20, 9, 14, 27, tzinfo=UTC),
        "fetched_at": timezone.now(),
    }
    defaults.update(fields)
    defaults.setdefault("latency_bin", bin_index(defaults["latency_ms"]))  # type: ignore[arg-type]
    defaults.setdefault("throughput_bin", bin_index(defaults["output_tokens_per_second"]))  # type: ignore[arg-type]
    return defaults


def make_generation(
    generation_id: str = "gen-1", *, body: bool = True, rollups: bool = True, **fields: object
) -> Generation:
    """A stored generation written straight to the database (no FastRouter call); its rollup
    buckets are recomputed unless `rollups=False`."""
    generation = Generation.objects.create(generation_id=generation_id, **generation_fields(**fields))
    # As every real write path does: the dashboard reads the rollups.
    if rollups:
        rollups_recompute([Touch(generation.occurred_at, generation.model, generation.api_key_hash)])
    if body:
        GenerationBody.objects.create(generation=generation, request={"model": generation.model}, raw_payload="{}")
    return generation


def make_generations(rows: dict[str, dict[str, object]]) -> None:
    """Many stored generations ({generation id: fields}) in one bulk insert, then their rollup
    buckets recomputed once, as `generation_store_many` does: for thousands of rows in a test."""
    with transaction.atomic():
        created = Generation.objects.bulk_create(
            Generation(generation_id=generation_id, **generation_fields(**fields))
            for generation_id, fields in rows.items()
        )
        rollups_recompute(Touch(row.occurred_at, row.model, row.api_key_hash) for row in created)


def delete_generations(queryset) -> None:
    """Delete generations the way the purge does: the rollups they counted in are recomputed."""
    with transaction.atomic():
        touched = touches_of(queryset)
        queryset.delete()
        rollups_recompute(touched)
