"""Stored generations the read API tests share."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from generations.models import KeyLabel
from tests.factories import make_generation


@pytest.fixture
def stored(db):
    now = timezone.now().replace(microsecond=0)
    KeyLabel.objects.create(api_key_hash="sha256:team-key", name="Support bot", team="support")
    times = [now - timedelta(hours=h) for h in (1, 5, 30, 200, 1000)] + [datetime(2025, 11, 20, 9, 14, tzinfo=UTC)]
    for n, at in enumerate(times):
        make_generation(f"gen-{n}", occurred_at=at, cost_pico=1_000_000_007 * (n + 1), latency_ms=100.0 * (n + 1))
        make_generation(
            f"claude-{n}",
            occurred_at=at - timedelta(minutes=7),
            model="anthropic/claude",
            provider="anthropic",
            api_key_hash="sha256:team-key",
            is_byok=n % 2 == 0,
            endpoint="/v1/embeddings" if n % 3 == 0 else "/v1/chat/completions",
            cost_pico=None if n == 2 else 3_333_333_333_333,
        )
    make_generation("gen-nz", occurred_at=datetime(2025, 11, 28, 23, 59, tzinfo=UTC))
    # Everything FastRouter may leave out: unknown key type, latency, tokens and cost.
    make_generation(
        "gen-unknowns",
        occurred_at=now - timedelta(hours=3),
        is_byok=None,
        latency_ms=None,
        input_tokens=None,
        output_tokens=None,
        cost_pico=None,
    )
