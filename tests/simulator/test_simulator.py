"""The FastRouter simulator: payload realism, exact money, and fault injection over HTTP.

Django-free: run with ``pytest tests/simulator/test_simulator.py -p no:django``. HTTP goes through
``urllib`` because the project blocks ``requests`` in tests.
"""

import functools
import http.client
import importlib
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fastrouter_simulator.server import (
    MODELS,
    RESET_STATUS,
    SIMULATOR_ID_PREFIX,
    SimulatorServer,
    catalogue_payload,
    compute_cost,
    demo_ids,
    dumps,
    generation_payload,
    price_change_at,
    priced_at,
    simulator_id,
)

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "fastrouter-openapi.json"
NOW = datetime(2025, 11, 26, 12, 34, 56, tzinfo=UTC)
API_KEY = "test-key"
JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float, Decimal),
    "boolean": bool,
    "object": dict,
}


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _success_schema() -> dict:
    spec = json.loads(SPEC_PATH.read_text())
    operation = spec["paths"]["/api/v1/generation"]["post"]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def _check_types(value: object, schema: dict, where: str) -> None:
    expected = JSON_TYPES[schema["type"]]
    assert isinstance(value, expected), f"{where}: {value!r} is not {schema['type']}"
    if schema["type"] in ("integer", "number"):
        assert not isinstance(value, bool), f"{where} is a bool"
    for name, sub in schema.get("properties", {}).items():
        assert name in value, f"{where}.{name} missing"
        _check_types(value[name], sub, f"{where}.{name}")


def _round_trip(payload: dict) -> dict:
    return json.loads(dumps(payload), parse_float=Decimal)


# --- Payloads ----------------------------------------------------------------------------


def test_ids_are_stable_and_prefixed() -> None:
    ids = demo_ids(50)
    assert ids == demo_ids(50)
    assert len(set(ids)) == 50
    assert ids[3] == simulator_id(3)
    assert simulator_id(3, seed="other") != ids[3]
    for generation_id in ids:
        assert generation_id.startswith(SIMULATOR_ID_PREFIX)
        suffix = generation_id.removeprefix(SIMULATOR_ID_PREFIX)
        assert len(suffix) == 12 and int(suffix, 16) >= 0


def test_same_id_gives_same_payload() -> None:
    for generation_id in demo_ids(20):
        assert generation_payload(generation_id, now=NOW) == generation_payload(generation_id, now=NOW)
    first, second = demo_ids(2)
    assert generation_payload(first, now=NOW) != generation_payload(second, now=NOW)


def test_unknown_ids_have_no_payload() -> None:
    for generation_id in ("chatcmpl-123", "gen-sim-XYZ", "gen-sim-0123456789abc", ""):
        assert generation_payload(generation_id, now=NOW) is None


def test_payload_matches_spec_property_types() -> None:
    schema = _success_schema()
    for generation_id in demo_ids(200):
        payload = _round_trip(generation_payload(generation_id, now=NOW))
        _check_types(payload, schema, "payload")
        assert payload["id"] == generation_id


def test_money_round_trips_exactly() -> None:
    for generation_id in demo_ids(200):
        payload = generation_payload(generation_id, now=NOW)
        parsed = _round_trip(payload)
        assert isinstance(payload["credits_used"], Decimal)
        assert parsed["credits_used"] == payload["credits_used"]
        assert str(parsed["credits_used"]) == str(payload["credits_used"])
        assert parsed["usage"]["cost"] == payload["usage"]["cost"] == payload["credits_used"]


def test_dumps_writes_decimals_as_exact_number_literals() -> None:
    text = dumps({"a": Decimal("0.000000001"), "b": [Decimal("12.345678912")], "c": 1.5})
    assert text == '{"a": 0.000000001, "b": [12.345678912], "c": 1.5}'
    assert json.loads(text, parse_float=Decimal)["a"] == Decimal("0.000000001")


def test_cost_is_tokens_times_price() -> None:
    by_name = {(m.model, m.provider): m for m in MODELS}
    for generation_id in demo_ids(200):
        payload = generation_payload(generation_id, now=NOW)
        started = datetime.fromisoformat(payload["query_time"])
        model = priced_at(by_name[(payload["model"], payload["provider_name"])], started, now=NOW)
        expected = (
            payload["input_token_size"] * model.input_per_million
            + payload["output_token_size"] * model.output_per_million
        ) / Decimal(1_000_000)
        assert payload["credits_used"] == expected.quantize(Decimal("1e-9"))
        usage = payload["usage"]
        assert usage["prompt_tokens"] == payload["input_token_size"]
        assert usage["completion_tokens"] == payload["output_token_size"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_compute_cost_for_known_prices() -> None:
    mini = next(m for m in MODELS if m.model == "openai/gpt-4o-mini")
    assert compute_cost(mini, 1000, 500) == Decimal("0.000450000")


def test_times_lie_within_the_last_30_days_and_agree() -> None:
    earliest = NOW - timedelta(days=30)
    for generation_id in demo_ids(200):
        payload = generation_payload(generation_id, now=NOW)
        query_time = datetime.fromisoformat(payload["query_time"])
        assert payload["query_time"].endswith("Z") and len(payload["query_time"]) == 24
        assert earliest <= query_time <= NOW
        timing = payload["timing"]
        assert timing["started_at"] == payload["created_at"] == int(query_time.timestamp())
        assert timing["started_at"] <= timing["completed_at"] <= NOW.timestamp()
        assert 300 <= timing["duration_ms"] <= 40_000
        done = query_time + timedelta(milliseconds=timing["duration_ms"])
        assert timing["completed_at"] == int(done.timestamp())
        minutes = payload["avg_response_time_minutes_per_transaction"]
        assert minutes == pytest.approx(timing["duration_ms"] / 60_000)


def test_payloads_look_like_real_traffic() -> None:
    payloads = [generation_payload(i, now=NOW) for i in demo_ids(500)]
    assert len({p["model"] for p in payloads}) >= 10
    assert 0.03 < sum(p["is_byok"] for p in payloads) / len(payloads) < 0.2
    assert any("cache_discount" in p for p in payloads)
    chat = [p for p in payloads if p["endpoint"] == "/v1/chat/completions"]
    assert len(chat) > len(payloads) * 0.7
    sample = chat[0]
    roles = [m["role"] for m in sample["request"]["messages"]]
    assert roles == ["system", "user"]
    assert sample["response"]["object"] == "chat.completion"
    assert sample["response"]["choices"][0]["message"]["content"]
    assert set(sample["metadata"]) == {"team", "region", "app"}


def test_extra_fields_can_be_switched_off() -> None:
    for generation_id in demo_ids(100):
        payload = generation_payload(generation_id, now=NOW, extra_fields=False)
        assert "cache_discount" not in payload


# --- HTTP server -------------------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(
    server: SimulatorServer,
    body: object = None,
    *,
    raw: bytes | None = None,
    key: str | None = API_KEY,
    method: str = "POST",
    path: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    url = server.url if path is None else server.url.replace("/api/v1/generation", path)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.fixture
def serve(start_simulator):
    """`start_simulator` with this module's key."""
    return functools.partial(start_simulator, api_key=API_KEY)


def test_server_returns_generation_details(serve) -> None:
    server = serve()
    generation_id = simulator_id(7)
    status, headers, body = _request(server, {"generation_id": generation_id})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body, parse_float=Decimal)
    assert payload["id"] == generation_id
    _check_types(payload, _success_schema(), "payload")
    assert server.status_counts() == {200: 1}


def test_server_rejects_missing_or_wrong_key(serve) -> None:
    server = serve()
    for key in (None, "wrong-key", ""):
        status, _, body = _request(server, {"generation_id": simulator_id(1)}, key=key)
        assert status == 401
        error = json.loads(body)["error"]
        assert error["status"] == 401
        assert isinstance(error["message"], str) and isinstance(error["code"], str)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b"{}",
        b'{"generation_id": ""}',
        b'{"generation_id": 42}',
        json.dumps({"generation_id": "gen-sim-" + "a" * 300}).encode(),
        b'{"generation_id": "gen-sim-abc def"}',
        b'{"generation_id": "gen-sim-abc\\u0000"}',
        b'{"generation_id": "gen-sim-abc\\n"}',
    ],
)
def test_server_rejects_malformed_requests(serve, raw: bytes) -> None:
    status, _, body = _request(serve(), raw=raw)
    assert status == 400
    assert json.loads(body)["error"]["status"] == 400


def test_server_answers_404_for_unknown_ids_and_paths(serve) -> None:
    server = serve()
    status, _, body = _request(server, {"generation_id": "chatcmpl-unknown"})
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
    status, _, _ = _request(server, {"generation_id": simulator_id(1)}, path="/api/v1/other")
    assert status == 404


def test_server_answers_405_for_other_methods(serve) -> None:
    server = serve()
    for method in ("GET", "PUT", "DELETE"):
        status, headers, _ = _request(server, method=method)
        assert status == 405
        assert headers["Allow"] == "POST"


def test_rpm_limit_answers_429_with_retry_after_seconds(serve) -> None:
    clock = FakeClock(1_700_000_000.0)
    server = serve(rpm_limit=2, clock=clock)
    body = {"generation_id": simulator_id(1)}
    assert [_request(server, body)[0] for _ in range(2)] == [200, 200]
    clock.t += 20
    status, headers, payload = _request(server, body)
    assert status == 429
    assert headers["Retry-After"] == "40"
    assert json.loads(payload)["error"]["status"] == 429
    clock.t += 40
    assert _request(server, body)[0] == 200


def test_rpm_limit_answers_429_with_retry_after_http_date(serve) -> None:
    clock = FakeClock(1_700_000_000.0)
    server = serve(rpm_limit=1, retry_after_format="http-date", clock=clock)
    body = {"generation_id": simulator_id(1)}
    assert _request(server, body)[0] == 200
    status, headers, _ = _request(server, body)
    assert status == 429
    retry_at = parsedate_to_datetime(headers["Retry-After"])
    assert retry_at.timestamp() == clock.t + 60


def test_throttle_rate_refuses_a_share_of_requests_with_a_one_second_retry_after(serve) -> None:
    always = serve(throttle_rate=1.0)
    status, headers, _ = _request(always, {"generation_id": simulator_id(1)})
    assert (status, headers["Retry-After"]) == (429, "1")
    sometimes = serve(throttle_rate=0.2, seed=5)
    statuses = [_request(sometimes, {"generation_id": simulator_id(n)})[0] for n in range(100)]
    assert 5 <= statuses.count(429) <= 40
    assert statuses.count(429) + statuses.count(200) == 100


def test_rpm_limit_mixed_format_uses_both_forms(serve) -> None:
    server = serve(rpm_limit=1, retry_after_format="mixed", clock=FakeClock(1_700_000_000.0))
    body = {"generation_id": simulator_id(1)}
    _request(server, body)
    values = [_request(server, body)[1]["Retry-After"] for _ in range(4)]
    assert sum(v.isdigit() for v in values) == 2
    assert sum(v.endswith("GMT") for v in values) == 2


def test_error_rate_one_always_answers_5xx(serve) -> None:
    server = serve(error_rate=1.0)
    statuses = {_request(server, {"generation_id": simulator_id(n)})[0] for n in range(30)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) >= 2


def test_malformed_rate_one_never_gives_a_valid_payload(serve) -> None:
    server = serve(malformed_rate=1.0)
    for n in range(30):
        status, _, body = _request(server, {"generation_id": simulator_id(n)})
        assert status == 200
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        is_valid = isinstance(parsed, dict) and isinstance(parsed.get("credits_used"), float)
        assert not is_valid


def test_faults_are_reproducible_with_a_seed(serve) -> None:
    def statuses(seed: int) -> list[int]:
        server = serve(error_rate=0.5, seed=seed)
        return [_request(server, {"generation_id": simulator_id(n)})[0] for n in range(20)]

    assert statuses(7) == statuses(7)


def test_slow_rate_delays_responses(serve) -> None:
    delays: list[float] = []
    server = serve(slow_rate=1.0, slow_seconds=3.5, sleep=delays.append)
    assert _request(server, {"generation_id": simulator_id(1)})[0] == 200
    assert delays == [3.5]


def test_new_ids_are_not_found_for_a_while(serve) -> None:
    clock = FakeClock(1_700_000_000.0)
    server = serve(not_found_for_seconds=30, clock=clock)
    body = {"generation_id": simulator_id(5)}
    assert _request(server, body)[0] == 404
    clock.t += 29
    assert _request(server, body)[0] == 404
    clock.t += 1
    assert _request(server, body)[0] == 200
    assert server.status_counts() == {404: 2, 200: 1}


def test_management_command_passes_its_fault_options_to_the_config(monkeypatch) -> None:
    module = importlib.import_module("fastrouter_simulator.management.commands.fastrouter_simulator")
    configs = []

    def refuse_to_listen(config, host, port):
        configs.append(config)
        raise OSError("address in use")

    monkeypatch.setattr(module, "make_server", refuse_to_listen)
    options = ["--rpm", "7", "--error-rate", "0.1", "--throttle-rate", "0.2", "--retry-after-format", "mixed"]
    with pytest.raises(CommandError, match="address in use"):
        call_command("fastrouter_simulator", *options, "--seed", "3", "--verbose", "--api-key", API_KEY)
    [config] = configs
    assert (config.rpm_limit, config.error_rate, config.throttle_rate) == (7, 0.1, 0.2)
    assert (config.retry_after_format, config.seed, config.verbose, config.api_key) == ("mixed", 3, True, API_KEY)
    assert (config.slow_rate, config.slow_seconds, config.rpm_window_seconds) == (0.0, 2.0, 60.0)


def test_reset_rate_drops_the_connection_without_an_answer(serve) -> None:
    server = serve(reset_rate=1.0)
    with pytest.raises((ConnectionError, urllib.error.URLError, http.client.HTTPException)):
        _request(server, {"generation_id": simulator_id(1)})
    assert server.status_counts() == {RESET_STATUS: 1}


def test_resets_leave_the_other_faults_of_a_seed_unchanged(serve) -> None:
    def answered(**overrides: object) -> list[int]:
        server = serve(error_rate=0.5, seed=11, **overrides)
        statuses = []
        for n in range(30):
            try:
                statuses.append(_request(server, {"generation_id": simulator_id(n)})[0])
            except (ConnectionError, urllib.error.URLError, http.client.HTTPException):
                statuses.append(RESET_STATUS)
        return statuses

    plain, with_resets = answered(), answered(reset_rate=0.3)
    assert RESET_STATUS in with_resets
    kept = [s for s in with_resets if s != RESET_STATUS]
    assert kept == plain[: len(kept)]


# --------------------------------------------------------------------------- the model catalogue


def test_catalogue_lists_every_demo_model_once_without_a_key(serve) -> None:
    server = serve(clock=lambda: NOW.timestamp())
    host, port = server.server_address[:2]
    with urllib.request.urlopen(f"http://{host}:{port}/api/v1/models") as answer:
        payload = json.loads(answer.read())
    ids = [entry["id"] for entry in payload["data"]]
    assert len(ids) == len(set(ids))
    assert {model.model for model in MODELS} <= set(ids)
    mini = next(entry for entry in payload["data"] if entry["id"] == "openai/gpt-4o-mini")
    # The simulator's clock is past the price cut: today's catalogue shows the new prices.
    assert mini["pricing"] == {"prompt": "0.00000012", "completion": "0.00000048"}


def test_catalogue_as_of_before_the_price_change_shows_the_old_price() -> None:
    before = catalogue_payload(now=NOW, as_of=price_change_at(NOW) - timedelta(seconds=1))
    mini = next(entry for entry in before["data"] if entry["id"] == "openai/gpt-4o-mini")
    assert mini["pricing"] == {"prompt": "0.00000015", "completion": "0.0000006"}


def test_generations_cost_the_price_in_force_when_they_started() -> None:
    change = price_change_at(NOW)
    costs = {True: set(), False: set()}
    for generation_id in demo_ids(400):
        payload = generation_payload(generation_id, now=NOW)
        if payload["model"] == "openai/gpt-4o-mini":
            per_token = (
                payload["credits_used"]
                * 1_000_000
                / (payload["input_token_size"] * 1 + payload["output_token_size"] * 4)
            )
            costs[datetime.fromisoformat(payload["query_time"]) >= change].add(per_token.quantize(Decimal("0.001")))
    # gpt-4o-mini's output costs four times its input, before and after the cut.
    assert costs == {False: {Decimal("0.150")}, True: {Decimal("0.120")}}
