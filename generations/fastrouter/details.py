"""What FastRouter answers: `GenerationDetails` (with `Usage`, `Timing`), parsed from a response body.

No HTTP here (that is `client.py`): the queue and the services handle answers without the client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import groupby
from typing import Any

from generations.fastrouter.errors import MalformedResponse

__all__ = ["GenerationDetails", "Timing", "Usage", "to_utc"]

_EXCERPT_LENGTH = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Timestamps this large cannot be seconds (year > 5000): treat them as milliseconds.
_MILLISECONDS_THRESHOLD = 100_000_000_000
# Values outside these bounds are upstream mistakes (Go's zero time 0001-01-01, "9999-12-31", 10^20
# tokens): the field becomes unknown and the raw payload keeps what was sent. The bounds are far
# beyond any real call, and keep every column, its pico-units and the rollups' sums within 64 bits.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2101, 1, 1, tzinfo=UTC)
_MAX_COUNT = 10**12  # tokens, or milliseconds (31 years)
_MAX_AMOUNT = Decimal(10**6)  # USD (or credits) for one call: 10^18 pico-units
# No run of this many characters of the API key is ever shown from an upstream body.
_SECRET_FRAGMENT = 8


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: Decimal | None = None


@dataclass(frozen=True)
class Timing:
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class GenerationDetails:
    id: str | None
    model: str | None
    provider_name: str | None
    api_key: str | None
    credits_used: Decimal | None
    query_time: datetime | None
    avg_response_time_minutes_per_transaction: float | None
    avg_tokens_per_nano: float | None
    input_token_size: int | None
    output_token_size: int | None
    is_byok: bool | None
    endpoint: str | None
    created_at: datetime | None
    request: dict | None = field(repr=False)
    response: dict | None = field(repr=False)
    usage: Usage
    timing: Timing
    metadata: dict | None
    # Kept out of the repr: large, and the repr should stay readable in logs.
    raw: dict = field(repr=False)
    raw_text: str = field(repr=False)

    @classmethod
    def from_text(cls, text: str, *, secret: str = "") -> GenerationDetails:
        """Parse a response body (floats kept exact as Decimal; NaN and Infinity become unknown).

        No excerpt of the body in an error message shows a piece of ``secret`` (the API key).
        """
        try:
            payload = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
        except (ValueError, RecursionError):
            excerpt = _excerpt(text, secret=secret)
            raise MalformedResponse(f"FastRouter sent a response that is not valid JSON ({excerpt}).") from None
        if not isinstance(payload, dict):
            raise MalformedResponse(f"FastRouter sent JSON that is not an object ({_json_kind(payload)}).")
        return cls.from_payload(payload, raw_text=text)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, raw_text: str = "") -> GenerationDetails:
        """Build from an already-decoded JSON object; every field is optional."""
        return cls(
            **_parsed_fields(payload, _TOP_LEVEL_FIELDS),
            usage=Usage(**_parsed_fields(payload, _USAGE_FIELDS, under="usage")),
            timing=Timing(**_parsed_fields(payload, _TIMING_FIELDS, under="timing")),
            raw=dict(payload),
            raw_text=raw_text,
        )


# --------------------------------------------------------------------------- parsing helpers


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _excerpt(text: str, *, secret: str = "", limit: int = _EXCERPT_LENGTH) -> str:
    """A short, printable excerpt of an upstream body, for messages, with no piece of ``secret``."""
    if not text.strip():
        return "the body was empty"
    flat = "".join(ch if ch.isprintable() else " " for ch in text.strip())
    flat = " ".join(flat.split())
    # Redacted before the cut, looking past it: a key cut in half escapes a search for the whole key.
    shown = _redacted_head(flat[: limit + len(secret)], secret, length=limit)
    if len(flat) > limit:
        shown += "…"
    return f"it starts with {shown!r}"


def _redacted_head(text: str, secret: str, *, length: int) -> str:
    """The first ``length`` characters of ``text``, every run of _SECRET_FRAGMENT or more characters
    of ``secret`` replaced by [redacted]; runs are looked for in all of ``text``, so one crossing the
    cut is hidden too."""
    size = min(_SECRET_FRAGMENT, len(secret))
    hidden = [False] * len(text)
    if size:
        # A run of the key is a chain of overlapping windows of `size` characters, each in the key.
        for start in range(len(text) - size + 1):
            if text[start : start + size] in secret:
                hidden[start : start + size] = [True] * size
    runs = groupby(zip(text[:length], hidden, strict=False), key=lambda pair: pair[1])
    return "".join("[redacted]" if is_hidden else "".join(ch for ch, _ in run) for is_hidden, run in runs)


def _bad(field_name: str, expected: str) -> MalformedResponse:
    return MalformedResponse(f"FastRouter sent an invalid value for “{field_name}” (expected {expected}).")


def _as_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)  # e.g. a numeric id
    raise _bad(name, "text")


def _as_decimal(value: Any, name: str, expected: str = "a number") -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(name, expected)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise _bad(name, expected) from None
    else:
        raise _bad(name, expected)
    # NaN or Infinity: a number, but not one anything can count with.
    return result if result.is_finite() else None


def _as_amount(value: Any, name: str) -> Decimal | None:
    """Money: unknown beyond ±_MAX_AMOUNT."""
    amount = _as_decimal(value, name)
    # Compared, never computed with: arithmetic on a Decimal such as 1e9999999 raises Overflow.
    return amount if amount is not None and -_MAX_AMOUNT < amount < _MAX_AMOUNT else None


def _as_float(value: Any, name: str) -> float | None:
    number = _as_decimal(value, name)
    if number is None:
        return None
    result = float(number)
    return result if math.isfinite(result) else None


def _as_count(value: Any, name: str) -> int | None:
    """Tokens or milliseconds: a whole number from 0 to _MAX_COUNT, else unknown."""
    if isinstance(value, int) and not isinstance(value, bool):
        number: int | Decimal | None = value
    else:
        number = _as_decimal(value, name, "a whole number")
    if number is None or not 0 <= number <= _MAX_COUNT or number != int(number):
        return None
    return int(number)


def _as_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        if not text:
            return None
    raise _bad(name, "true or false")


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # naive: FastRouter means UTC
    return moment.astimezone(UTC)


def _known_moment(moment: datetime) -> datetime | None:
    """``moment`` in UTC, or None (unknown) outside the years a real generation can have."""
    try:
        moment = to_utc(moment)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is in the year 10000 UTC
        return None
    return moment if _EARLIEST <= moment < _LATEST else None


def _as_iso_datetime(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return _known_moment(datetime.fromisoformat(text))
        except ValueError:
            # Some servers send epoch seconds as a string here.
            pass
    return _as_unix_datetime(value, name, expected="an ISO 8601 date-time")


def _as_unix_datetime(value: Any, name: str, expected: str = "a Unix timestamp") -> datetime | None:
    if isinstance(value, str) and value.strip():
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            # Tolerate an ISO 8601 string where a timestamp was expected.
            try:
                return _known_moment(datetime.fromisoformat(value.strip()))
            except ValueError:
                raise _bad(name, expected) from None
    else:
        number = _as_decimal(value, name, expected)
    if number is None or not number.is_finite():
        return None
    seconds = float(number)  # as a float: Decimal arithmetic on 1e9999999 raises Overflow
    if abs(seconds) >= _MILLISECONDS_THRESHOLD:
        seconds /= 1000
    if not _EARLIEST.timestamp() <= seconds < _LATEST.timestamp():
        return None
    return _EPOCH + timedelta(seconds=seconds)


def _as_object(value: Any, name: str) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str):
        # A nested body sent as a JSON-encoded string.
        try:
            value = json.loads(value, parse_float=Decimal, parse_constant=Decimal)
        except (ValueError, RecursionError):
            raise _bad(name, "an object") from None
    if not isinstance(value, dict):
        raise _bad(name, "an object")
    return _plain_json(value)


def _plain_scalar_or_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    if isinstance(value, Decimal):
        as_float = float(value)
        # Beyond float range: keep the exact digits as text rather than "Infinity".
        return as_float if math.isfinite(as_float) else str(value)
    return value


def _plain_json(value: Any) -> Any:
    """Turn Decimals back into floats so the value fits a Django JSONField.

    Without recursion: a body nested a few hundred levels deep parses fine, and must not
    then fail here with RecursionError.
    """
    result = _plain_scalar_or_empty(value)
    pending = [(value, result)] if isinstance(result, dict | list) else []
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            copy = _plain_scalar_or_empty(item)
            if isinstance(target, dict):
                target[str(key)] = copy
            else:
                target.append(copy)
            if isinstance(copy, dict | list):
                pending.append((item, copy))
    return result


def _sub_object(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(name, "an object")
    return value


# The parser of each field, by its JSON key (also the dataclass field's name). A parser gets the
# value and the name a bad value is reported under ("usage.cost").
_TOP_LEVEL_FIELDS = {
    "id": _as_str,
    "model": _as_str,
    "provider_name": _as_str,
    "api_key": _as_str,
    "credits_used": _as_amount,
    "query_time": _as_iso_datetime,
    "avg_response_time_minutes_per_transaction": _as_float,
    "avg_tokens_per_nano": _as_float,
    "input_token_size": _as_count,
    "output_token_size": _as_count,
    "is_byok": _as_bool,
    "endpoint": _as_str,
    "created_at": _as_unix_datetime,
    "request": _as_object,
    "response": _as_object,
    "metadata": _as_object,
}
_USAGE_FIELDS = {
    "prompt_tokens": _as_count,
    "completion_tokens": _as_count,
    "total_tokens": _as_count,
    "cost": _as_amount,
}
_TIMING_FIELDS = {"started_at": _as_unix_datetime, "completed_at": _as_unix_datetime, "duration_ms": _as_count}


def _parsed_fields(payload: Mapping[str, Any], parsers: Mapping[str, Callable], *, under: str = "") -> dict[str, Any]:
    """Each field of `parsers` parsed from `payload`, or from its object `under` (absent: no fields)."""
    if not under:
        return {key: parse(payload.get(key), key) for key, parse in parsers.items()}
    inner = _sub_object(payload.get(under), under)
    return {key: parse(inner.get(key), f"{under}.{key}") for key, parse in parsers.items()}
