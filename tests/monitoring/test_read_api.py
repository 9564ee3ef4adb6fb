from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from monitoring.tokens import read_token_create
from tests.factories import make_generations

pytestmark = pytest.mark.django_db
DIMENSIONS = ["model", "provider", "endpoint", "key", "team", "byok"]
FILTER_COMBINATIONS = [
    {},
    {"range": "24h"},
    {"range": "30d", "model": "anthropic/claude"},
    {"range": "90d", "provider": "openai", "byok": "no"},
    {"range": "custom", "start": "2025-11-01", "end": "2025-11-30", "tz": "America/New_York"},
    {"range": "custom", "start": "2025-11-01", "end": "2025-11-30", "team": "support", "bucket": "hour"},
    {"range": "7d", "key": "sha256:team-key", "split": "provider"},
    {"range": "30d", "endpoint": "/v1/embeddings", "tz": "Asia/Kolkata"},
    {"range": "custom", "start": "2025-10-01", "end": "2025-12-31", "q": "gen-1"},
]


@pytest.fixture
def read(client):
    _, raw = read_token_create(name="notebook")

    def get(path: str, params: dict | None = None, status: int = 200) -> dict:
        response = client.get(path, params or {}, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == status, response.content
        return response.json()

    return get


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _figures(totals) -> dict:
    return {
        "requests": totals.requests,
        "unknown_cost_requests": totals.unknown_cost_requests,
        "cost_usd": totals.cost,
        "credits_used": totals.credits,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "byok_requests": totals.byok_requests,
    }


def _api_figures(json: dict) -> dict:
    return {
        "requests": json["requests"],
        "unknown_cost_requests": json["unknown_cost_requests"],
        "cost_usd": _money(json["cost_usd"]),
        "credits_used": _money(json["credits_used"]),
        "input_tokens": json["input_tokens"],
        "output_tokens": json["output_tokens"],
        "byok_requests": json["byok_requests"],
    }


def _added(rows: list[dict]) -> dict:
    keys = ["requests", "unknown_cost_requests", "input_tokens", "output_tokens", "byok_requests"]
    added = {key: sum(row[key] for row in rows) for key in keys}
    added["credits_used"] = sum((Decimal(row["credits_used"]) for row in rows), Decimal(0))
    priced = [Decimal(row["cost_usd"]) for row in rows if row["cost_usd"] is not None]
    added["cost_usd"] = sum(priced, Decimal(0)) if priced or not added["requests"] else None
    return added


@pytest.mark.parametrize("params", FILTER_COMBINATIONS, ids=lambda params: "&".join(map("=".join, params.items())))
def test_every_api_figure_equals_the_pages(read, viewer_client, stored, params):
    dashboard_params = {name: value for name, value in params.items() if name != "q"}
    page = viewer_client.get("/dashboard/", {**dashboard_params, "tz": params.get("tz", "UTC")})
    board = page.context["board"]
    summary = read("/api/v1/summary", dashboard_params)
    assert _api_figures(summary["totals"]) == _figures(board.totals)
    assert summary["selection"]["start"] == board.filters.start.astimezone(board.filters.tzinfo).isoformat()
    for dimension in DIMENSIONS:
        rows = read(f"/api/v1/breakdown/{dimension}", dashboard_params)["rows"]
        assert _added(rows) == _figures(board.totals), dimension
    points = read("/api/v1/series", dashboard_params)["points"]
    assert _added(points) == _figures(board.totals)
    listed = viewer_client.get("/generations/", {**params, "tz": params.get("tz", "UTC")}).context["page"]
    api_list = read("/api/v1/generations", params)
    assert _api_figures(api_list["totals"]) == _figures(listed.totals)
    assert [row["generation_id"] for row in api_list["generations"]] == [row.generation_id for row in listed.rows]


def test_bad_filters_are_400_with_the_pages_messages(read, viewer_client):
    params = {"range": "custom", "start": "2025-11-30", "end": "2025-11-01", "tz": "Mars/Olympus"}
    page = viewer_client.get("/dashboard/", params)
    assert page.status_code == 400
    for path in ("/api/v1/summary", "/api/v1/series", "/api/v1/breakdown/model", "/api/v1/generations"):
        assert read(path, params, status=400)["errors"] == page.context["errors"]


def test_generations_are_keyset_paginated(read):
    start = datetime(2025, 11, 20, tzinfo=UTC)
    make_generations({f"bulk-{n}": {"occurred_at": start + timedelta(minutes=n % 7)} for n in range(40)})
    params = {"range": "custom", "start": "2025-11-01", "end": "2025-11-30", "per_page": "25"}
    first = read("/api/v1/generations", params)
    second = read("/api/v1/generations", {**params, "after": first["next_after"]})
    ids = [row["generation_id"] for row in first["generations"] + second["generations"]]
    assert len(ids) == len(set(ids)) == 40
    assert second["next_after"] == ""
    assert second["totals"] is None
    assert read("/api/v1/generations", {**params, "after": "garbage"}, status=400)["errors"]


def test_one_generation_with_money_as_exact_text_and_times_with_offset(read, stored):
    body = read("/api/v1/generations/gen-5")
    assert body["cost_usd"] == "0.006000000042"
    assert body["occurred_at"] == "2025-11-20T09:14:00+00:00"
    claude = read("/api/v1/generations/claude-0")
    assert (claude["key_name"], claude["team"]) == ("Support bot", "support")
    assert read("/api/v1/generations/nope", status=404)["errors"] == ["No stored generation 'nope'."]


def test_unknown_dimension_is_404_naming_the_choices(read):
    assert "model, provider" in read("/api/v1/breakdown/colour", status=404)["errors"][0]


@pytest.mark.parametrize("path", ["/api/v1/summary", "/api/v1/generations", "/api/v1/generations/gen-1"])
def test_the_api_needs_a_read_token_not_a_login(viewer_client, path):
    response = viewer_client.get(path)
    assert response.status_code == 401
    assert response.json()["errors"] == ["A valid read token is required: send Authorization: Bearer <token>."]
