"""POST /api/ingest/otlp/v1/traces: spans exported by the real OpenTelemetry SDK, OTLP JSON, and every refusal."""

import gzip
import json
import logging

import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.tokens import ingest_token_create

URL = "/api/ingest/otlp/v1/traces"


@pytest.fixture
def live_token(transactional_db):
    return ingest_token_create(name="chat-service")


@pytest.fixture
def token(db):
    return ingest_token_create(name="chat-service")


def _export(live_server, http_mock, raw: str, spans: list[dict], **exporter_options) -> None:
    """Spans made and exported by the OpenTelemetry SDK, as an instrumented application would."""
    http_mock.add_passthru(live_server.url)  # the exporter uses requests; the live server is ours
    exporter = OTLPSpanExporter(
        endpoint=live_server.url + URL, headers={"Authorization": f"Bearer {raw}"}, timeout=10, **exporter_options
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "deployment.environment": "test"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.otlp")
    for span in spans:
        with tracer.start_as_current_span(span["name"], kind=SpanKind.CLIENT) as current:
            current.set_attributes(span["attributes"])
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()


CHAT_SPANS = [
    {
        "name": "chat gpt-4o",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "openai/gpt-4o",
            "gen_ai.response.id": "gen-otlp-0001",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 48,
            "user.id": "42",
            "feature": "search",
        },
    },
    {
        "name": "chat claude",
        "attributes": {
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "anthropic/claude-sonnet-4",
            "gen_ai.response.id": "gen-otlp-0002",
            "gen_ai.usage.prompt_tokens": 7,  # the older names still give hints
            "gen_ai.usage.completion_tokens": 9,
            "session.id": "s-17",
        },
    },
    {"name": "GET /search", "attributes": {"http.request.method": "GET", "url.path": "/search"}},
]


def test_spans_exported_by_the_sdk_are_queued_with_tags_and_hints(live_server, http_mock, live_token):
    _export(live_server, http_mock, live_token[1], CHAT_SPANS)
    rows = {row.generation_id: row for row in LookupRequest.objects.all()}
    assert set(rows) == {"gen-otlp-0001", "gen-otlp-0002"}  # the HTTP span holds no generation
    first, second = rows["gen-otlp-0001"], rows["gen-otlp-0002"]
    assert (first.source, first.state) == ("otlp", "queued")
    assert first.tags == {"service.name": "checkout", "user.id": "42", "feature": "search"}
    assert first.hints == {"model": "openai/gpt-4o", "input_tokens": 120, "output_tokens": 48}
    assert second.tags == {"service.name": "checkout", "session.id": "s-17"}
    assert second.hints == {"model": "anthropic/claude-sonnet-4", "input_tokens": 7, "output_tokens": 9}
    batch = LookupBatch.objects.get()
    assert (batch.source, batch.label, batch.ingest_token_id, batch.new_count) == (
        "otlp",
        "chat-service",
        live_token[0].pk,
        2,
    )


def test_a_gzip_export_from_the_sdk_is_queued(live_server, http_mock, live_token):
    _export(live_server, http_mock, live_token[1], CHAT_SPANS[:1], compression=Compression.Gzip)
    assert list(LookupRequest.objects.values_list("generation_id", "source")) == [("gen-otlp-0001", "otlp")]


def test_an_sdk_export_with_a_revoked_token_queues_nothing(live_server, http_mock, live_token, caplog):
    live_token[0].revoked_at = live_token[0].created_at
    live_token[0].save()
    with caplog.at_level(logging.ERROR):
        _export(live_server, http_mock, live_token[1], CHAT_SPANS[:1])
    assert LookupRequest.objects.count() == 0
    assert "401" in caplog.text  # the exporter reports the refusal in the application's log
    assert live_token[1] not in caplog.text


def _span(name: str, *attributes: tuple[str, dict]) -> dict:
    return {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "name": name,
        "kind": 3,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "attributes": [{"key": key, "value": value} for key, value in attributes],
    }


def _otlp_json(*spans: dict, resource: tuple = (("service.name", {"stringValue": "billing"}),)) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": k, "value": v} for k, v in resource]},
                "scopeSpans": [{"scope": {"name": "openllmetry"}, "spans": list(spans)}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",  # unknown to nobody, but must not matter
            }
        ]
    }


def _post(client, body, raw, content_type="application/json", **headers):
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(URL, data=data, content_type=content_type, headers={"Authorization": f"Bearer {raw}", **headers})


def test_otlp_json_is_queued_and_answered_in_json(client, token):
    body = _otlp_json(
        _span(
            "chat",
            ("gen_ai.response.id", {"stringValue": "gen-json-1"}),
            ("gen_ai.request.model", {"stringValue": "openai/gpt-4o-mini"}),
            ("gen_ai.usage.input_tokens", {"intValue": "31"}),  # int64 as a string, as OTLP JSON allows
            ("gen_ai.usage.output_tokens", {"intValue": 4}),
            ("user.id", {"intValue": "42"}),
            ("feature", {"boolValue": True}),
        ),
        _span("db query", ("db.system", {"stringValue": "postgresql"})),
    )
    body["resourceSpans"][0]["futureField"] = {"x": 1}  # unknown fields are ignored, as the specification asks
    response = _post(client, body, token[1])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}  # everything accepted: an empty ExportTraceServiceResponse
    row = LookupRequest.objects.get()
    assert (row.generation_id, row.source) == ("gen-json-1", "otlp")
    assert row.tags == {"service.name": "billing", "user.id": "42", "feature": "true"}
    assert row.hints == {"model": "openai/gpt-4o-mini", "input_tokens": 31, "output_tokens": 4}


def test_llm_spans_without_a_valid_id_are_a_partial_success(client, token):
    body = _otlp_json(
        _span("chat ok", ("gen_ai.response.id", {"stringValue": "gen-good-1"})),
        _span("chat failed", ("gen_ai.request.model", {"stringValue": "openai/gpt-4o"})),
        _span("chat odd", ("gen_ai.response.id", {"stringValue": "bad id with spaces"})),
        _span("chat number", ("gen_ai.response.id", {"intValue": "7"})),
        _span("chat again", ("gen_ai.response.id", {"stringValue": "gen-good-1"})),
    )
    response = _post(client, body, token[1])
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "3"  # int64 in protobuf's JSON mapping
    message = partial["errorMessage"]
    assert message.startswith("3 LLM spans rejected")
    assert "span 'chat failed' (resource 1, scope 1, span 2): no gen_ai.response.id attribute" in message
    assert "span 'chat odd'" in message
    assert "span 'chat number'" in message
    assert list(LookupRequest.objects.values_list("generation_id", flat=True)) == ["gen-good-1"]
    assert LookupBatch.objects.get().invalid_count == 3


def test_protobuf_partial_success_is_answered_in_protobuf(client, token):
    export = ExportTraceServiceRequest()
    spans = export.resource_spans.add().scope_spans.add()
    for number in range(5):
        span = spans.spans.add(name=f"chat {number}")
        span.attributes.add(key="gen_ai.operation.name").value.string_value = "chat"
    response = client.post(
        URL,
        data=export.SerializeToString(),
        content_type="application/x-protobuf",
        headers={"Authorization": f"Bearer {token[1]}"},
    )
    assert (response.status_code, response["Content-Type"]) == (200, "application/x-protobuf")
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 5
    assert "(and 2 more)" in answer.partial_success.error_message
    assert LookupBatch.objects.count() == 0


def test_tag_values_that_break_the_tag_rules_are_skipped_and_said(client, token):
    body = _otlp_json(
        _span(
            "chat",
            ("gen_ai.response.id", {"stringValue": "gen-tags-1"}),
            ("user.id", {"stringValue": "x" * 201}),
            ("feature", {"stringValue": "line\nbreak"}),
            ("session.id", {"stringValue": "s-1"}),
        )
    )
    response = _post(client, body, token[1])
    partial = response.json()["partialSuccess"]
    assert "rejectedSpans" not in partial  # a warning only: the span was accepted
    assert partial["errorMessage"].startswith("2 attribute values were not kept as tags")
    assert LookupRequest.objects.get().tags == {"service.name": "billing", "session.id": "s-1"}


def test_the_tag_attributes_are_a_setting(client, token, settings):
    settings.OTLP_TAG_ATTRIBUTES = ("deployment.environment", "team")
    body = _otlp_json(
        _span("chat", ("gen_ai.response.id", {"stringValue": "gen-set-1"}), ("team", {"stringValue": "search"})),
        resource=(("deployment.environment", {"stringValue": "prod"}), ("service.name", {"stringValue": "x"})),
    )
    assert _post(client, body, token[1]).status_code == 200
    assert LookupRequest.objects.get().tags == {"deployment.environment": "prod", "team": "search"}


def test_a_gzip_body_is_decompressed(client, token):
    body = gzip.compress(
        json.dumps(_otlp_json(_span("chat", ("gen_ai.response.id", {"stringValue": "gen-gz-1"})))).encode()
    )
    response = _post(client, body, token[1], **{"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert LookupRequest.objects.get().generation_id == "gen-gz-1"


def _status(response) -> status_pb2.Status:
    if response["Content-Type"] == "application/x-protobuf":
        return status_pb2.Status.FromString(response.content)
    document = response.json()
    return status_pb2.Status(code=document.get("code", 0), message=document["message"])


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status", "code", "message"),
    [
        (b"\xff\xfe not protobuf", "application/x-protobuf", {}, 400, code_pb2.INVALID_ARGUMENT, "in protobuf"),
        (b'{"resourceSpans": [', "application/json", {}, 400, code_pb2.INVALID_ARGUMENT, "in OTLP JSON"),
        (b'{"resourceSpans": 5}', "application/json", {}, 400, code_pb2.INVALID_ARGUMENT, "in OTLP JSON"),
        (b"\xc3\x28", "application/json", {}, 400, code_pb2.INVALID_ARGUMENT, "in OTLP JSON"),
        (b"[" * 100_000, "application/json", {}, 400, code_pb2.INVALID_ARGUMENT, "in OTLP JSON"),
        (b"{}", "text/plain", {}, 415, code_pb2.INVALID_ARGUMENT, "Content-Type must be application/x-protobuf"),
        (b"{}", "application/json", {"Content-Encoding": "br"}, 415, code_pb2.INVALID_ARGUMENT, "'br' is not"),
        (b"not gzip", "application/json", {"Content-Encoding": "gzip"}, 400, code_pb2.INVALID_ARGUMENT, "gzip"),
        (gzip.compress(b"{}")[:-6], "application/json", {"Content-Encoding": "gzip"}, 400, 3, "ends before"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_with_a_status(
    client, token, body, content_type, headers, status, code, message
):
    response = client.post(
        URL, data=body, content_type=content_type, headers={"Authorization": f"Bearer {token[1]}", **headers}
    )
    assert response.status_code == status
    refusal = _status(response)
    assert refusal.code == code
    assert message in refusal.message
    assert LookupRequest.objects.count() == 0


def test_a_body_or_its_decompression_past_the_limit_is_413(client, token, settings):
    settings.OTLP_MAX_BODY_BYTES = 4096
    response = _post(client, b"{" + b" " * 5000 + b"}", token[1])
    assert response.status_code == 413
    bomb = gzip.compress(b"{" + b" " * 1_000_000 + b"}")
    assert len(bomb) < 4096
    response = _post(client, bomb, token[1], **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed body is larger than 4,096 bytes" in _status(response).message


@pytest.mark.parametrize("header", [None, "Bearer frdi_wrong", "Basic abc"])
def test_a_missing_or_wrong_token_is_401_in_the_request_s_encoding(client, token, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(URL, data=b"", content_type="application/x-protobuf", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert _status(response).code == code_pb2.UNAUTHENTICATED


def test_only_post_is_allowed(client, token):
    response = client.get(URL, headers={"Authorization": f"Bearer {token[1]}"})
    assert (response.status_code, response["Allow"]) == (405, "POST")


def test_an_internal_error_is_a_status_and_logged_without_the_token(client, token, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("generations.ingest.queue.generation_enqueue", broken)
    body = _otlp_json(_span("chat", ("gen_ai.response.id", {"stringValue": "gen-err-1"})))
    with caplog.at_level(logging.ERROR):
        response = _post(client, body, token[1])
    assert response.status_code == 500
    assert _status(response).code == code_pb2.INTERNAL
    assert "database went away" not in response.content.decode()
    assert token[1] not in caplog.text
