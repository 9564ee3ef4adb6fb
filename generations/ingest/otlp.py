"""OpenTelemetry traces in: the generation ids of the LLM calls an application already traces.

An OTLP/HTTP exporter (the OpenTelemetry SDK, a Collector, OpenLLMetry…) posts
``ExportTraceServiceRequest`` messages, protobuf or JSON, maybe gzip-compressed. Every span
carrying ``gen_ai.response.id`` (the GenAI semantic conventions) hands over one id; its model and
token counts are kept as hints only (FastRouter's answer is the truth), and the attributes named in
``OTLP_TAG_ATTRIBUTES`` (on the span, else on its resource) become the id's tags.

A span that describes an LLM call (any ``gen_ai.*`` attribute) without a valid id is *rejected*:
the answer's ``partial_success`` counts it and says why, as the OTLP specification asks. Spans of
anything else (HTTP handlers, database calls) are simply not ours and are accepted silently.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from generations.ingest.parsing import ParsedIds
from generations.ingest.tags import MAX_VALUE_LENGTH, InvalidTags, clean_tags

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RESPONSE_ID = "gen_ai.response.id"
GEN_AI_PREFIX = "gen_ai."
# Hint name → the attributes that may carry it, newest convention first.
HINT_ATTRIBUTES = {
    "model": ("gen_ai.request.model",),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
}
MAX_TOKEN_HINT = 10**12  # the client's bound on token counts: beyond it a value is nonsense
REJECTIONS_LISTED = 3
# What a refusal's google.rpc.Status says, by HTTP status.
_GRPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    405: code_pb2.UNIMPLEMENTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    500: code_pb2.INTERNAL,
}


class OtlpRefused(Exception):
    """The whole export is refused; ``str(error)`` is safe to send back."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def media_type_of(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def answer_media_type(content_type: str | None) -> str:
    """The encoding of the answer: the request's when it is protobuf, JSON for everything else."""
    return PROTOBUF if media_type_of(content_type) == PROTOBUF else JSON


def decode_export(body: bytes, *, content_type: str | None, content_encoding: str, limit: int) -> Message:
    """The ExportTraceServiceRequest in ``body``, or OtlpRefused (415, 413 or 400)."""
    media_type = media_type_of(content_type)
    if media_type not in (PROTOBUF, JSON):
        raise OtlpRefused(f"Content-Type must be {PROTOBUF} or {JSON}, not {media_type or 'missing'!r}.", 415)
    body = _decompressed(body, content_encoding.strip().lower(), limit)
    export = ExportTraceServiceRequest()
    try:
        if media_type == PROTOBUF:
            export.ParseFromString(body)
        else:
            # Trace and span ids are hex in OTLP JSON, base64 in protobuf's JSON mapping: any hex id
            # still parses, and ids are never read. Unknown fields must be ignored (OTLP spec).
            json_format.Parse(body.decode("utf-8"), export, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError) as error:
        kind = "protobuf" if media_type == PROTOBUF else "OTLP JSON"
        detail = str(error).splitlines()[0][:200] if media_type == JSON and str(error) else "cannot be decoded"
        raise OtlpRefused(f"The body is not an ExportTraceServiceRequest in {kind}: {detail}.", 400) from None
    return export


def _decompressed(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise OtlpRefused(f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none.", 415)
    # Decompressed in one bounded step: a small bomb cannot inflate past the limit in memory.
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # | 32: a gzip or a zlib header
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise OtlpRefused(f"The body is not valid {encoding} data.", 400) from None
    if len(data) > limit:
        raise OtlpRefused(f"The decompressed body is larger than {limit:,} bytes; export smaller batches.", 413)
    if not inflater.eof:
        raise OtlpRefused(f"The {encoding} body ends before its compressed data does.", 400)
    return data


@dataclass
class SpanIds:
    """What an export hands over: unique valid ids (``parsed``), each id's tags and hints, and the
    rejected spans (``parsed.invalid``, counted in ``parsed.invalid_count``)."""

    parsed: ParsedIds = field(default_factory=lambda: ParsedIds(format="otlp", keep_invalid=REJECTIONS_LISTED))
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    hints: dict[str, dict[str, str | int]] = field(default_factory=dict)
    tags_skipped: int = 0

    @property
    def rejected(self) -> int:
        return self.parsed.invalid_count

    def warning(self) -> str:
        """The answer's error_message: why spans were rejected or attributes not kept ('' when none)."""
        parts = []
        if self.rejected:
            listed = "; ".join(
                f"{e.location}: {e.reason}" + (f" ({e.value})" if e.value else "") for e in self.parsed.invalid
            )
            more = (
                f" (and {self.rejected - len(self.parsed.invalid):,} more)"
                if self.rejected > len(self.parsed.invalid)
                else ""
            )
            parts.append(f"{self.rejected:,} LLM spans rejected, no generation id queued for them: {listed}{more}.")
        if self.tags_skipped:
            parts.append(
                f"{self.tags_skipped:,} attribute values were not kept as tags: a tag value is 1 to "
                f"{MAX_VALUE_LENGTH} printable characters."
            )
        return " ".join(parts)


def span_ids(export: Message, *, tag_attributes: tuple[str, ...]) -> SpanIds:
    found = SpanIds()
    for resource_number, resource_spans in enumerate(export.resource_spans, start=1):
        resource = _attributes(resource_spans.resource.attributes)
        for scope_number, scope_spans in enumerate(resource_spans.scope_spans, start=1):
            for span_number, span in enumerate(scope_spans.spans, start=1):
                attributes = _attributes(span.attributes)
                if any(key.startswith(GEN_AI_PREFIX) for key in attributes):
                    name = span.name if len(span.name) <= 60 else span.name[:60] + "…"
                    location = f"span {name!r} (resource {resource_number}, scope {scope_number}, span {span_number})"
                    _take_span(found, location, attributes, resource, tag_attributes)
    return found


def _take_span(
    found: SpanIds,
    location: str,
    attributes: dict[str, object],
    resource: dict[str, object],
    tag_attributes: tuple[str, ...],
) -> None:
    parsed = found.parsed
    if RESPONSE_ID not in attributes:
        parsed.reject(location, "", f"no {RESPONSE_ID} attribute")
        return
    known = len(parsed.ids)
    parsed.add(attributes[RESPONSE_ID], location)  # rejects an id that is not text or not valid
    if len(parsed.ids) == known:
        return  # rejected, or a repeat: the first span of an id gives its tags and hints
    generation_id = parsed.ids[-1]
    tags = {}
    for key in tag_attributes:
        value = attributes.get(key, resource.get(key))
        if value is None:
            continue
        try:
            tags.update(clean_tags({key: _text(value)}))
        except InvalidTags:
            found.tags_skipped += 1
    if tags:
        found.tags[generation_id] = tags
    hints = _hints(attributes)
    if hints:
        found.hints[generation_id] = hints


def _hints(attributes: dict[str, object]) -> dict[str, str | int]:
    hints: dict[str, str | int] = {}
    for hint, names in HINT_ATTRIBUTES.items():
        for name in names:
            value = attributes.get(name)
            if hint == "model" and isinstance(value, str) and 0 < len(value) <= 200:
                hints[hint] = value
                break
            is_count = isinstance(value, int) and not isinstance(value, bool)
            if hint != "model" and is_count and 0 <= value < MAX_TOKEN_HINT:
                hints[hint] = value
                break
    return hints


def _attributes(pairs: list[KeyValue]) -> dict[str, object]:
    """Scalar attributes as Python values (a later duplicate key wins, as in the SDKs); arrays and
    maps are left out: no id, tag or hint is one."""
    values: dict[str, object] = {}
    for pair in pairs:
        value = _scalar(pair.value)
        if value is not None:
            values[pair.key] = value
    return values


def _scalar(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, kind)
    return None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_answer(*, found: SpanIds, media_type: str) -> bytes:
    """ExportTraceServiceResponse: empty when everything was accepted, else partial_success."""
    answer = ExportTraceServiceResponse()
    warning = found.warning()
    if warning:
        answer.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=found.rejected, error_message=warning))
    return _encode(answer, media_type)


def encode_refusal(*, message: str, status: int, media_type: str) -> bytes:
    """The google.rpc.Status the OTLP specification asks for with every error status."""
    return _encode(status_pb2.Status(code=_GRPC_CODES.get(status, code_pb2.UNKNOWN), message=message), media_type)


def _encode(message: Message, media_type: str) -> bytes:
    if media_type == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()
