import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
import responses

from generations.fastrouter import client as client_module
from generations.fastrouter import errors
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.details import GenerationDetails, Timing, Usage
from generations.fastrouter.ids import MAX_GENERATION_ID_LENGTH, clean_generation_id

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
BASE_URL = "https://fastrouter.test"
URL = BASE_URL + "/api/v1/generation"
KEY = "fr-test-secret-9f3"  # short on purpose: must not look like a real key


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def make_client(fake_time):
    def build(**overrides) -> FastRouterClient:
        options = {
            "base_url": BASE_URL,
            "api_key": KEY,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
        }
        options.update(overrides)
        return FastRouterClient(**options)

    return build


def ok_body(**fields) -> str:
    payload = {"id": "gen-1", "model": "openai/gpt-4o"}
    payload.update(fields)
    return json.dumps(payload)


def add_json(http_mock, status=200, body=None, headers=None):
    http_mock.add(
        responses.POST,
        URL,
        body=ok_body() if body is None else body,
        status=status,
        headers=headers or {},
        content_type="application/json",
    )


def add_rate_limited(http_mock, retry_after: str | None = None):
    """A 429 answer, with a Retry-After header when `retry_after` is given."""
    add_json(http_mock, status=429, headers={"Retry-After": retry_after} if retry_after else None, body="{}")


def http_date_from_now(offset: timedelta) -> str:
    """A Retry-After date `offset` from now, as servers write it."""
    return format_datetime(datetime.now(UTC) + offset, usegmt=True)


# --------------------------------------------------------------------------- id validation


def test_clean_generation_id_trims():
    assert clean_generation_id("  gen-abc_123  ") == "gen-abc_123"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_clean_generation_id_rejects_empty(raw):
    with pytest.raises(errors.InvalidGenerationId) as excinfo:
        clean_generation_id(raw)
    assert excinfo.value.user_message


def test_clean_generation_id_accepts_max_length():
    assert clean_generation_id("a" * MAX_GENERATION_ID_LENGTH) == "a" * 256


def test_clean_generation_id_rejects_too_long():
    with pytest.raises(errors.InvalidGenerationId) as excinfo:
        clean_generation_id("a" * 257)
    assert "256" in excinfo.value.user_message


@pytest.mark.parametrize(
    "raw",
    [
        "gen 1",
        "gen\t1",
        "gen\n1",
        "gen\x00",
        "gen\u200b1",
        "gen\u00a01",
        "gen\u2028x",
        "a\x7f",
    ],
)
def test_clean_generation_id_rejects_spaces_and_control_characters(raw):
    with pytest.raises(errors.InvalidGenerationId) as excinfo:
        clean_generation_id(raw)
    assert excinfo.value.user_message == "A generation id cannot contain spaces or control characters."


def test_id_is_validated_before_sending(http_mock, make_client):
    with pytest.raises(errors.InvalidGenerationId):
        make_client().get_generation("bad id")
    assert len(http_mock.calls) == 0


def test_error_classes_share_base_and_have_user_message():
    for cls in (
        errors.InvalidGenerationId,
        errors.NotConfigured,
        errors.AuthenticationFailed,
        errors.GenerationNotFound,
        errors.RateLimited,
        errors.UpstreamError,
        errors.UpstreamUnavailable,
        errors.MalformedResponse,
    ):
        error = cls()
        assert isinstance(error, errors.FastRouterError)
        assert isinstance(error.user_message, str) and error.user_message
        assert str(error) == error.user_message


# --------------------------------------------------------------------------- request shape


def test_request_shape(http_mock, make_client):
    add_json(http_mock)
    details = make_client(base_url=BASE_URL + "/").get_generation("  gen-1 ")
    assert details.id == "gen-1"
    request = http_mock.calls[0].request
    assert request.method == "POST"
    assert request.url == URL
    assert json.loads(request.body) == {"generation_id": "gen-1"}
    assert request.headers["Authorization"] == "Bearer " + KEY


def test_key_only_in_authorization_header(http_mock, make_client):
    add_json(http_mock)
    make_client().get_generation("gen-1")
    request = http_mock.calls[0].request
    assert KEY not in request.url
    assert KEY not in request.body.decode()
    others = {name: value for name, value in request.headers.items() if name != "Authorization"}
    assert KEY not in repr(others)


def test_empty_key_raises_not_configured_without_sending(http_mock, make_client):
    for key in ("", "   "):
        with pytest.raises(errors.NotConfigured) as excinfo:
            make_client(api_key=key).get_generation("gen-1")
        assert "FASTROUTER_API_KEY" in excinfo.value.user_message
    assert len(http_mock.calls) == 0


def test_key_with_control_characters_is_not_configured(http_mock, make_client):
    with pytest.raises(errors.NotConfigured) as excinfo:
        make_client(api_key="abc\ndef").get_generation("gen-1")
    assert "abc" not in excinfo.value.user_message
    assert len(http_mock.calls) == 0


def test_session_is_reused(http_mock, make_client, monkeypatch):
    created = []

    class CountingSession(requests.Session):
        def __init__(self):
            super().__init__()
            created.append(self)

    monkeypatch.setattr(client_module.requests, "Session", CountingSession)
    add_json(http_mock)
    client = make_client()
    client.get_generation("gen-1")
    client.get_generation("gen-2")
    assert len(created) == 1
    assert client.session is created[0]
    assert len(http_mock.calls) == 2


def test_client_repr_hides_key(make_client):
    text = repr(make_client())
    assert KEY not in text
    assert BASE_URL in text


# --------------------------------------------------------------------------- status codes


def test_200_parses(http_mock, make_client):
    add_json(http_mock, body=ok_body(credits_used=0.5))
    details = make_client().get_generation("gen-1")
    assert isinstance(details, GenerationDetails)
    assert details.credits_used == Decimal("0.5")


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, errors.InvalidGenerationId),
        (401, errors.AuthenticationFailed),
        (403, errors.AuthenticationFailed),
        (404, errors.GenerationNotFound),
    ],
)
def test_client_errors_are_not_retried(http_mock, make_client, fake_time, status, error_class):
    add_json(http_mock, status=status, body=json.dumps({"error": {"message": "nope"}}))
    with pytest.raises(error_class):
        make_client().get_generation("gen-1")
    assert len(http_mock.calls) == 1
    assert fake_time.sleeps == []


def test_401_message(http_mock, make_client):
    add_json(http_mock, status=401, body="{}")
    with pytest.raises(errors.AuthenticationFailed) as excinfo:
        make_client().get_generation("gen-1")
    assert excinfo.value.user_message == ("The configured FastRouter key was rejected — check FASTROUTER_API_KEY.")


def test_404_message(http_mock, make_client):
    add_json(http_mock, status=404, body="{}")
    with pytest.raises(errors.GenerationNotFound) as excinfo:
        make_client().get_generation("gen-1")
    assert excinfo.value.user_message == ("FastRouter has no generation with this id, or it has expired.")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_retried_until_attempts_exhausted(http_mock, make_client, fake_time, status):
    add_json(http_mock, status=status, body="oops")
    with pytest.raises(errors.UpstreamError) as excinfo:
        make_client(max_attempts=4).get_generation("gen-1")
    assert excinfo.value.status == status
    assert str(status) in excinfo.value.user_message
    assert len(http_mock.calls) == 4
    assert len(fake_time.sleeps) == 3


def test_backoff_is_exponential_with_full_jitter(http_mock, make_client, fake_time):
    add_json(http_mock, status=500, body="oops")
    with pytest.raises(errors.UpstreamError):
        make_client(max_attempts=4, backoff_base=0.5, deadline=100).get_generation("gen-1")
    for attempt, delay in enumerate(fake_time.sleeps):
        assert 0 <= delay <= 0.5 * 2**attempt


def test_retries_then_success(http_mock, make_client, fake_time):
    add_json(http_mock, status=503, body="busy")
    add_json(http_mock, status=502, body="bad gateway")
    add_json(http_mock, body=ok_body(id="gen-1"))
    details = make_client().get_generation("gen-1")
    assert details.id == "gen-1"
    assert len(http_mock.calls) == 3
    assert len(fake_time.sleeps) == 2


def test_unexpected_status_is_upstream_error_without_retry(http_mock, make_client):
    add_json(http_mock, status=418, body="teapot")
    with pytest.raises(errors.UpstreamError) as excinfo:
        make_client().get_generation("gen-1")
    assert excinfo.value.status == 418
    assert len(http_mock.calls) == 1


def test_redirect_is_not_followed(http_mock, make_client):
    http_mock.add(responses.POST, URL, status=302, headers={"Location": "https://elsewhere.test/"})
    with pytest.raises(errors.UpstreamError) as excinfo:
        make_client().get_generation("gen-1")
    assert excinfo.value.status == 302
    assert len(http_mock.calls) == 1


# --------------------------------------------------------------------------- 429 / Retry-After


def test_429_retry_after_seconds_honoured(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, "12")
    add_json(http_mock)
    details = make_client().get_generation("gen-1")
    assert details.id == "gen-1"
    assert fake_time.sleeps == [12.0]


def test_429_retry_after_http_date_honoured(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, http_date_from_now(timedelta(seconds=20)))
    add_json(http_mock)
    make_client().get_generation("gen-1")
    assert len(fake_time.sleeps) == 1
    assert 15 <= fake_time.sleeps[0] <= 20


def test_429_retry_after_http_date_in_past_means_now(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, http_date_from_now(-timedelta(minutes=5)))
    add_json(http_mock)
    make_client().get_generation("gen-1")
    assert fake_time.sleeps == [0.0]


def test_429_retry_after_above_cap_raises_at_once(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, "120")
    with pytest.raises(errors.RateLimited) as excinfo:
        make_client(max_retry_after=30).get_generation("gen-1")
    assert excinfo.value.retry_after == 120.0
    assert "120 s" in excinfo.value.user_message
    assert len(http_mock.calls) == 1
    assert fake_time.sleeps == []


def test_429_http_date_above_cap_raises_at_once(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, http_date_from_now(timedelta(hours=1)))
    with pytest.raises(errors.RateLimited) as excinfo:
        make_client().get_generation("gen-1")
    assert 3500 < excinfo.value.retry_after <= 3600
    assert fake_time.sleeps == []


def test_429_retry_after_past_deadline_raises_at_once(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, "20")
    with pytest.raises(errors.RateLimited) as excinfo:
        make_client(deadline=10, max_retry_after=30).get_generation("gen-1")
    assert excinfo.value.retry_after == 20.0
    assert len(http_mock.calls) == 1
    assert fake_time.sleeps == []


def test_429_message_names_wait(http_mock, make_client):
    add_rate_limited(http_mock, "12")
    with pytest.raises(errors.RateLimited) as excinfo:
        make_client(max_attempts=1).get_generation("gen-1")
    assert excinfo.value.user_message == "FastRouter is rate limiting us; try again in 12 s."


def test_429_without_retry_after_uses_backoff(http_mock, make_client, fake_time):
    add_rate_limited(http_mock)
    with pytest.raises(errors.RateLimited) as excinfo:
        make_client(max_attempts=3).get_generation("gen-1")
    assert excinfo.value.retry_after is None
    assert len(http_mock.calls) == 3
    assert len(fake_time.sleeps) == 2


def test_429_garbage_retry_after_is_ignored(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, "soon-ish")
    add_json(http_mock)
    make_client().get_generation("gen-1")
    assert len(fake_time.sleeps) == 1
    assert fake_time.sleeps[0] <= 0.5


def test_parse_retry_after_forms():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    parse = client_module.parse_retry_after
    assert parse("7", now=now) == 7.0
    assert parse(" 1.5 ", now=now) == 1.5
    assert parse("-3", now=now) == 0.0
    assert parse("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse("", now=now) is None
    assert parse(None, now=now) is None
    assert parse("nonsense", now=now) is None


# --------------------------------------------------------------------------- deadline / network


def test_deadline_exhausted(http_mock, make_client, fake_time):
    add_rate_limited(http_mock, "4")
    with pytest.raises(errors.RateLimited):
        make_client(max_attempts=10, deadline=10).get_generation("gen-1")
    # 4 s + 4 s fit in 10 s, a third wait would not.
    assert fake_time.sleeps == [4.0, 4.0]
    assert len(http_mock.calls) == 3


def test_deadline_bounds_backoff(http_mock, make_client, fake_time):
    add_json(http_mock, status=500, body="oops")
    with pytest.raises(errors.UpstreamError):
        make_client(max_attempts=50, deadline=5, backoff_base=1).get_generation("gen-1")
    assert sum(fake_time.sleeps) <= 5
    assert len(http_mock.calls) < 50


def test_per_attempt_timeout_never_exceeds_deadline(http_mock, make_client):
    seen = []

    def callback(request):
        seen.append(request.req_kwargs["timeout"])
        return (200, {}, ok_body())

    http_mock.add_callback(responses.POST, URL, callback=callback)
    make_client(timeout=10, deadline=3).get_generation("gen-1")
    assert seen == [3]


@pytest.mark.parametrize(
    "exception",
    [requests.exceptions.ReadTimeout(), requests.exceptions.ConnectTimeout()],
)
def test_timeouts_retried_then_unavailable(http_mock, make_client, fake_time, exception):
    http_mock.add(responses.POST, URL, body=exception)
    with pytest.raises(errors.UpstreamUnavailable) as excinfo:
        make_client(max_attempts=3).get_generation("gen-1")
    assert len(http_mock.calls) == 3
    assert len(fake_time.sleeps) == 2
    assert "in time" in excinfo.value.user_message


def test_connection_error_retried_then_success(http_mock, make_client, fake_time):
    http_mock.add(responses.POST, URL, body=requests.exceptions.ConnectionError("refused"))
    add_json(http_mock)
    assert make_client().get_generation("gen-1").id == "gen-1"
    assert len(fake_time.sleeps) == 1


def test_timeout_then_server_error_raises_last_failure(http_mock, make_client):
    http_mock.add(responses.POST, URL, body=requests.exceptions.ReadTimeout())
    add_json(http_mock, status=502, body="bad gateway")
    with pytest.raises(errors.UpstreamError) as excinfo:
        make_client(max_attempts=2).get_generation("gen-1")
    assert excinfo.value.status == 502


def test_unmocked_url_is_unavailable(make_client):
    # Nothing registered: the autouse mock refuses the connection.
    with pytest.raises(errors.UpstreamUnavailable):
        make_client(max_attempts=1).get_generation("gen-1")


# --------------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "body",
    [
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        '{"id": "gen-1", "model": ',
        "",
        "[1, 2, 3]",
        '"just a string"',
        "null",
    ],
)
def test_malformed_bodies(http_mock, make_client, body):
    add_json(http_mock, body=body)
    with pytest.raises(errors.MalformedResponse) as excinfo:
        make_client().get_generation("gen-1")
    assert len(http_mock.calls) == 1
    assert len(excinfo.value.user_message) < 200


def test_malformed_message_has_short_excerpt(http_mock, make_client):
    add_json(http_mock, body="<html>" + "x" * 5000 + "</html>")
    with pytest.raises(errors.MalformedResponse) as excinfo:
        make_client().get_generation("gen-1")
    assert "<html>" in excinfo.value.user_message
    assert "x" * 100 not in excinfo.value.user_message


def test_malformed_excerpt_never_echoes_key(http_mock, make_client):
    add_json(http_mock, body=f"bad {KEY} body")
    with pytest.raises(errors.MalformedResponse) as excinfo:
        make_client().get_generation("gen-1")
    assert KEY not in excinfo.value.user_message
    assert KEY not in str(excinfo.value)


def key_pieces(key: str, size: int = 8) -> list[str]:
    """Every run of `size` characters of `key`: none may be shown."""
    return [key[start : start + size] for start in range(len(key) - size + 1)]


@pytest.mark.parametrize("lead", [0, 45, 52, 53, 59])
def test_malformed_excerpt_never_shows_a_piece_of_the_key(http_mock, make_client, lead):
    # The excerpt shows 60 characters: here the key starts before the cut and runs past it.
    add_json(http_mock, body="x" * lead + KEY + " tail")
    with pytest.raises(errors.MalformedResponse) as excinfo:
        make_client().get_generation("gen-1")
    message = excinfo.value.user_message
    assert not [piece for piece in key_pieces(KEY) if piece in message]
    assert "[redacted]" in message
    assert "x" * min(lead, 8) in message


def test_excerpt_keeps_text_sharing_only_short_runs_with_the_key(http_mock, make_client):
    add_json(http_mock, body="<html>fr-test 502 Bad Gateway</html>")  # 7 characters of the key in a row
    with pytest.raises(errors.MalformedResponse) as excinfo:
        make_client().get_generation("gen-1")
    assert "<html>fr-test 502 Bad Gateway</html>" in excinfo.value.user_message


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"input_token_size": "abc"}, "input_token_size"),
        ({"request": 5}, "request"),
        ({"response": [1]}, "response"),
        ({"metadata": True}, "metadata"),
        ({"usage": "x"}, "usage"),
        ({"usage": {"cost": "cheap"}}, "usage.cost"),
        ({"timing": {"started_at": "yesterday"}}, "timing.started_at"),
        ({"timing": 3}, "timing"),
        ({"is_byok": "maybe"}, "is_byok"),
        ({"is_byok": 2}, "is_byok"),
        ({"query_time": "not a date"}, "query_time"),
        ({"credits_used": {"a": 1}}, "credits_used"),
        ({"model": ["a"]}, "model"),
    ],
)
def test_wrong_typed_field_names_field(fields, name):
    with pytest.raises(errors.MalformedResponse) as excinfo:
        GenerationDetails.from_text(ok_body(**fields))
    assert f"“{name}”" in excinfo.value.user_message


@pytest.mark.parametrize(
    ("field", "read"),
    [
        ('"query_time": "0001-01-01T00:00:00Z"', lambda d: d.query_time),  # Go's zero time
        ('"query_time": "9999-12-31T23:59:59Z"', lambda d: d.query_time),
        ('"query_time": "9999-12-31T23:59:59-05:00"', lambda d: d.query_time),  # past year 9999 in UTC
        ('"query_time": "0001-01-01T00:00:00+05:00"', lambda d: d.query_time),  # before year 1 in UTC
        ('"query_time": "1999-12-31T23:59:59Z"', lambda d: d.query_time),
        ('"query_time": "2101-01-01T00:00:00Z"', lambda d: d.query_time),
        ('"query_time": "-62135596800"', lambda d: d.query_time),
        ('"created_at": 0', lambda d: d.created_at),
        ('"created_at": -100000000000', lambda d: d.created_at),
        ('"created_at": 1000000000000000000000000000000', lambda d: d.created_at),
        ('"created_at": "1e999"', lambda d: d.created_at),
        ('"created_at": 1e9999999', lambda d: d.created_at),  # beyond the Decimal context: arithmetic overflows
        ('"created_at": -1e9999999', lambda d: d.created_at),
        ('"created_at": "sNaN"', lambda d: d.created_at),  # float() refuses a signalling NaN
        ('"created_at": "0001-01-01T00:00:00"', lambda d: d.created_at),
        ('"timing": {"started_at": 253402300800}', lambda d: d.timing.started_at),
        ('"timing": {"completed_at": Infinity}', lambda d: d.timing.completed_at),
        ('"input_token_size": 100000000000000000000', lambda d: d.input_token_size),
        ('"output_token_size": -1', lambda d: d.output_token_size),
        ('"output_token_size": 1.5', lambda d: d.output_token_size),
        ('"output_token_size": "1e400"', lambda d: d.output_token_size),
        ('"usage": {"total_tokens": 9223372036854775808}', lambda d: d.usage.total_tokens),
        ('"usage": {"prompt_tokens": NaN}', lambda d: d.usage.prompt_tokens),
        ('"timing": {"duration_ms": -5}', lambda d: d.timing.duration_ms),
        ('"credits_used": "1e400"', lambda d: d.credits_used),
        ('"credits_used": 10000000', lambda d: d.credits_used),
        ('"credits_used": -1e9999999', lambda d: d.credits_used),
        ('"usage": {"cost": "1e999999999999999999"}', lambda d: d.usage.cost),
        ('"input_token_size": 1e30', lambda d: d.input_token_size),
        ('"credits_used": NaN', lambda d: d.credits_used),
        ('"credits_used": "Infinity"', lambda d: d.credits_used),
        ('"usage": {"cost": -1e30}', lambda d: d.usage.cost),
        ('"avg_tokens_per_nano": "1e999"', lambda d: d.avg_tokens_per_nano),
        (
            '"avg_response_time_minutes_per_transaction": -Infinity',
            lambda d: d.avg_response_time_minutes_per_transaction,
        ),
    ],
)
def test_out_of_range_values_are_unknown_and_kept_in_the_raw_payload(field, read):
    body = '{"id": "gen-1", "model": "openai/gpt-4o", %s}' % field  # noqa: UP031 (NaN is no JSON to dump)
    details = GenerationDetails.from_text(body)
    assert read(details) is None
    assert details.model == "openai/gpt-4o"
    assert details.raw_text == body


def test_values_at_the_bounds_are_kept():
    details = GenerationDetails.from_text(
        ok_body(
            query_time="2000-01-01T00:00:00Z",
            created_at="2100-12-31T23:59:59Z",
            input_token_size=10**12,
            output_token_size=0,
            credits_used="999999.999999999999",
            usage={"cost": -999999},
            timing={"started_at": 946684800, "completed_at": 4133980799999, "duration_ms": "1e12"},
        )
    )
    assert details.query_time == datetime(2000, 1, 1, tzinfo=UTC)
    assert details.created_at == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert (details.input_token_size, details.output_token_size) == (10**12, 0)
    assert details.credits_used == Decimal("999999.999999999999")
    assert details.usage.cost == Decimal(-999999)
    assert details.timing == Timing(
        started_at=datetime(2000, 1, 1, tzinfo=UTC),
        completed_at=datetime(2100, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        duration_ms=10**12,
    )


def test_nan_and_infinity_inside_bodies_become_text():
    details = GenerationDetails.from_text('{"request": {"temperature": NaN, "top_p": [Infinity]}}')
    assert details.request == {"temperature": "NaN", "top_p": ["Infinity"]}
    json.dumps(details.request, allow_nan=False)


def test_numbers_as_strings_are_coerced():
    details = GenerationDetails.from_text(
        ok_body(
            credits_used="0.000609",
            avg_response_time_minutes_per_transaction="0.035",
            avg_tokens_per_nano="1.58",
            input_token_size="14",
            output_token_size="105.0",
            created_at="1763630067",
            usage={
                "prompt_tokens": "1",
                "completion_tokens": 2,
                "total_tokens": "3",
                "cost": "0.1",
            },
            timing={
                "started_at": "1763630067.5",
                "completed_at": 1763630070,
                "duration_ms": "2514",
            },
        )
    )
    assert details.credits_used == Decimal("0.000609")
    assert details.avg_response_time_minutes_per_transaction == 0.035
    assert details.avg_tokens_per_nano == 1.58
    assert details.input_token_size == 14
    assert details.output_token_size == 105
    assert details.created_at == datetime(2025, 11, 20, 9, 14, 27, tzinfo=UTC)
    assert details.usage == Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, cost=Decimal("0.1"))
    assert details.timing.started_at == datetime(2025, 11, 20, 9, 14, 27, 500000, tzinfo=UTC)
    assert details.timing.duration_ms == 2514


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("False", False),
        (0, False),
        (1, True),
        ("1", True),
    ],
)
def test_booleans_are_coerced(value, expected):
    assert GenerationDetails.from_text(ok_body(is_byok=value)).is_byok is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "2025-05-06T13:51:02.889Z",
            datetime(2025, 5, 6, 13, 51, 2, 889000, tzinfo=UTC),
        ),
        ("2025-05-06T15:51:02+02:00", datetime(2025, 5, 6, 13, 51, 2, tzinfo=UTC)),
        ("2025-05-06T13:51:02", datetime(2025, 5, 6, 13, 51, 2, tzinfo=UTC)),
    ],
)
def test_query_time_is_aware_utc(value, expected):
    query_time = GenerationDetails.from_text(ok_body(query_time=value)).query_time
    assert query_time == expected
    assert query_time.utcoffset() == timedelta(0)


def test_created_at_float_seconds():
    details = GenerationDetails.from_text(ok_body(created_at=1763630067.25))
    assert details.created_at == datetime(2025, 11, 20, 9, 14, 27, 250000, tzinfo=UTC)


def test_nulls_are_accepted():
    names = [f.name for f in dataclasses.fields(GenerationDetails)]
    fields = {name: None for name in names if name not in ("raw", "raw_text")}
    details = GenerationDetails.from_text(json.dumps(fields))
    assert details.id is None
    assert details.credits_used is None
    assert details.is_byok is None
    assert details.request is None
    assert details.usage == Usage()
    assert details.timing == Timing()


def test_empty_object_parses():
    details = GenerationDetails.from_text("{}")
    assert details.id is None
    assert details.usage == Usage()
    assert details.raw == {}


def test_unknown_fields_are_kept_in_raw(http_mock, make_client):
    add_json(http_mock, body=ok_body(brand_new={"nested": 1.25}, other="x"))
    details = make_client().get_generation("gen-1")
    assert details.raw["other"] == "x"
    assert details.raw["brand_new"] == {"nested": Decimal("1.25")}


def test_raw_text_is_exact_body(http_mock, make_client):
    body = '{"id": "gen-1", "credits_used": 0.00060900000000000001}'
    add_json(http_mock, body=body)
    details = make_client().get_generation("gen-1")
    assert details.raw_text == body
    assert details.credits_used == Decimal("0.00060900000000000001")


def test_nested_bodies_are_plain_json():
    details = GenerationDetails.from_text(
        ok_body(
            request={"temperature": 0.2, "max_tokens": 400, "messages": [{"p": 1.5}]},
            response={"score": 1.0},
            metadata={"ratio": 0.25, "tags": ["a"]},
        )
    )
    assert details.request == {
        "temperature": 0.2,
        "max_tokens": 400,
        "messages": [{"p": 1.5}],
    }
    assert type(details.request["temperature"]) is float
    assert type(details.request["max_tokens"]) is int
    assert type(details.response["score"]) is float
    assert details.metadata == {"ratio": 0.25, "tags": ["a"]}
    json.dumps([details.request, details.response, details.metadata])


def test_details_repr_is_short():
    text = repr(GenerationDetails.from_text(ok_body(request={"prompt": "x" * 1000})))
    assert "x" * 100 not in text
    assert "gen-1" in text


# --------------------------------------------------------------------------- samples


def fetch_sample(http_mock, make_client, name: str, generation_id: str):
    """The client's details of a sample answer (tests/fixtures/samples/`name`), and its text."""
    body = (SAMPLES / name).read_text()
    add_json(http_mock, body=body)
    details = make_client().get_generation(generation_id)
    assert details.id == generation_id
    return details, body


def test_minimal_sample_parses(http_mock, make_client):
    details, body = fetch_sample(http_mock, make_client, "generation-minimal.json", "GEN-ID")
    assert details.model == "openai/gpt-3.5-turbo"
    assert details.provider_name == "openai"
    assert details.api_key == "API-KEY-HASH"
    assert details.credits_used == Decimal("0.000609")
    assert details.query_time == datetime(2025, 5, 6, 13, 51, 2, 889000, tzinfo=UTC)
    assert details.avg_response_time_minutes_per_transaction == pytest.approx(0.0352454642833)
    assert details.avg_tokens_per_nano == pytest.approx(1.58666666)
    assert details.input_token_size == 14
    assert details.output_token_size == 105
    assert details.is_byok is False
    assert details.endpoint is None
    assert details.created_at is None
    assert details.request is None and details.response is None and details.metadata is None
    assert details.usage == Usage()
    assert details.timing == Timing()
    assert details.raw_text == body


def test_full_sample_parses(http_mock, make_client):
    details, _ = fetch_sample(http_mock, make_client, "generation-full.json", "chatcmpl-fr-7d41c0a2e9b84f61")
    assert details.model == "anthropic/claude-sonnet-4"
    assert details.credits_used == Decimal("0.004731")
    assert details.avg_tokens_per_nano == pytest.approx(9.12e-8)
    assert details.endpoint == "/v1/chat/completions"
    assert details.created_at == datetime(2025, 11, 20, 9, 14, 27, tzinfo=UTC)
    assert details.request["temperature"] == 0.2
    assert details.request["messages"][0]["role"] == "system"
    assert details.response["choices"][0]["finish_reason"] == "stop"
    assert details.usage == Usage(
        prompt_tokens=412,
        completion_tokens=233,
        total_tokens=645,
        cost=Decimal("0.004731"),
    )
    assert details.timing == Timing(
        started_at=datetime(2025, 11, 20, 9, 14, 27, tzinfo=UTC),
        completed_at=datetime(2025, 11, 20, 9, 14, 30, tzinfo=UTC),
        duration_ms=2514,
    )
    assert details.metadata == {"team": "support-bot", "region": "us-east-1"}
    json.dumps([details.request, details.response, details.metadata])


# --------------------------------------------------------------------------- secrecy


def test_key_never_in_errors_or_logs(http_mock, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    outcomes = [
        {"body": requests.exceptions.ReadTimeout()},
        {"body": requests.exceptions.ConnectionError("refused")},
        {"status": 500, "body": "oops"},
        {"status": 429, "body": "{}", "headers": {"Retry-After": "1"}},
    ]
    for outcome in outcomes:
        http_mock.add(responses.POST, URL, **outcome)
    raised = []
    client = make_client(max_attempts=4, deadline=100)
    with pytest.raises(errors.FastRouterError) as excinfo:
        client.get_generation("gen-1")
    raised.append(excinfo.value)
    for status in (400, 401, 403, 404, 418, 429, 503):
        http_mock.replace(
            responses.POST,
            URL,
            status=status,
            body="{}",
            headers={"Retry-After": "999"},
        )
        with pytest.raises(errors.FastRouterError) as excinfo:
            make_client(max_attempts=1).get_generation("gen-1")
        raised.append(excinfo.value)
    with pytest.raises(errors.NotConfigured) as excinfo:
        make_client(api_key="bad key").get_generation("gen-1")
    raised.append(excinfo.value)

    retry_logs = [r for r in caplog.records if r.name == "generations.client"]
    assert retry_logs, "retries should be logged"
    for record in caplog.records:
        assert KEY not in record.getMessage()
    for error in raised:
        assert KEY not in str(error)
        assert KEY not in repr(error)
        assert KEY not in error.user_message
        assert "bad key" not in error.user_message
    assert KEY not in repr(client)


def test_invalid_base_url_is_unavailable_without_retry(http_mock, make_client, fake_time):
    with pytest.raises(errors.UpstreamUnavailable) as excinfo:
        make_client(base_url="not a url").get_generation("gen-1")
    assert "FASTROUTER_BASE_URL" in excinfo.value.user_message
    assert excinfo.value.__context__ is None
    assert fake_time.sleeps == []


def test_empty_base_url_is_not_configured(http_mock, make_client):
    with pytest.raises(errors.NotConfigured):
        make_client(base_url="").get_generation("gen-1")
    assert len(http_mock.calls) == 0


def test_network_errors_do_not_carry_requests_exception(http_mock, make_client):
    http_mock.add(responses.POST, URL, body=requests.exceptions.ConnectionError("x"))
    with pytest.raises(errors.UpstreamUnavailable) as excinfo:
        make_client(max_attempts=1).get_generation("gen-1")
    assert excinfo.value.__context__ is None
    assert excinfo.value.__cause__ is None
