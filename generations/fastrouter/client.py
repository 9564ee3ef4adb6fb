"""HTTP client for FastRouter's "Get Generation Details" endpoint.

This is the only module of the project that talks HTTP (and imports ``requests``).
It is deliberately framework-free: building a client from Django settings lives
elsewhere.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from itertools import groupby
from typing import Any, Self

import requests

__all__ = [
    "MAX_GENERATION_ID_LENGTH",
    "AuthenticationFailed",
    "FastRouterClient",
    "FastRouterError",
    "GenerationDetails",
    "GenerationNotFound",
    "InvalidGenerationId",
    "MalformedResponse",
    "NotConfigured",
    "RateLimited",
    "Timing",
    "UpstreamError",
    "UpstreamUnavailable",
    "Usage",
    "clean_generation_id",
]

logger = logging.getLogger("generations.client")

MAX_GENERATION_ID_LENGTH = 256
GENERATION_PATH = "/api/v1/generation"
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


# --------------------------------------------------------------------------- errors


class FastRouterError(Exception):
    """Base of every error the client raises.

    ``user_message`` is a friendly sentence that is safe to show in a page: it never
    contains the API key nor more than a short excerpt of an upstream body.
    """

    default_message = "Something went wrong while talking to FastRouter."

    def __init__(self, user_message: str | None = None) -> None:
        self.user_message: str = user_message or self.default_message
        super().__init__(self.user_message)

    def __str__(self) -> str:
        return self.user_message


class InvalidGenerationId(FastRouterError):
    """The id failed our validation, or FastRouter answered HTTP 400."""

    default_message = "FastRouter rejected this generation id as invalid."


class NotConfigured(FastRouterError):
    """No (usable) API key is configured."""

    default_message = "FastRouter is not configured: set FASTROUTER_API_KEY to your FastRouter API key."


class AuthenticationFailed(FastRouterError):
    """HTTP 401 or 403."""

    default_message = "The configured FastRouter key was rejected — check FASTROUTER_API_KEY."


class GenerationNotFound(FastRouterError):
    """HTTP 404."""

    default_message = "FastRouter has no generation with this id, or it has expired."


class RateLimited(FastRouterError):
    """HTTP 429. ``retry_after`` is in seconds, ``None`` when FastRouter did not say."""

    default_message = "FastRouter is rate limiting us; try again in a moment."

    def __init__(self, user_message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after: float | None = retry_after
        if user_message is None and retry_after is not None:
            user_message = f"FastRouter is rate limiting us; try again in {max(1, math.ceil(retry_after))} s."
        super().__init__(user_message)


class UpstreamError(FastRouterError):
    """HTTP 5xx, or any other status we do not expect. ``status`` is the HTTP status."""

    def __init__(self, user_message: str | None = None, *, status: int = 500) -> None:
        self.status: int = status
        if user_message is None:
            if 500 <= status <= 599:
                user_message = f"FastRouter had an internal error (HTTP {status}); try again later."
            else:
                user_message = f"FastRouter answered with an unexpected status (HTTP {status})."
        super().__init__(user_message)


class UpstreamUnavailable(FastRouterError):
    """Timeouts and connection errors."""

    default_message = "FastRouter could not be reached; try again later."


class MalformedResponse(FastRouterError):
    """The body is not a JSON object, or a field has a type that cannot be coerced."""

    default_message = "FastRouter sent a response we could not understand."


# --------------------------------------------------------------------------- validation


def clean_generation_id(raw: str) -> str:
    """Trim ``raw`` and check that it can be sent as a generation id."""
    if not isinstance(raw, str):
        raise InvalidGenerationId("A generation id must be text.")
    cleaned = raw.strip()
    if not cleaned:
        raise InvalidGenerationId("Please enter a generation id.")
    if len(cleaned) > MAX_GENERATION_ID_LENGTH:
        raise InvalidGenerationId(f"A generation id cannot be longer than {MAX_GENERATION_ID_LENGTH} characters.")
    # C* = control/format/unassigned/private/surrogate, Z* = every kind of space.
    if any(unicodedata.category(ch)[0] in "CZ" for ch in cleaned):
        raise InvalidGenerationId("A generation id cannot contain spaces or control characters.")
    return cleaned


# --------------------------------------------------------------------------- results


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
        p = payload
        return cls(
            id=_as_str(p.get("id"), "id"),
            model=_as_str(p.get("model"), "model"),
            provider_name=_as_str(p.get("provider_name"), "provider_name"),
            api_key=_as_str(p.get("api_key"), "api_key"),
            credits_used=_as_amount(p.get("credits_used"), "credits_used"),
            query_time=_as_iso_datetime(p.get("query_time"), "query_time"),
            avg_response_time_minutes_per_transaction=_as_float(
                p.get("avg_response_time_minutes_per_transaction"),
                "avg_response_time_minutes_per_transaction",
            ),
            avg_tokens_per_nano=_as_float(p.get("avg_tokens_per_nano"), "avg_tokens_per_nano"),
            input_token_size=_as_count(p.get("input_token_size"), "input_token_size"),
            output_token_size=_as_count(p.get("output_token_size"), "output_token_size"),
            is_byok=_as_bool(p.get("is_byok"), "is_byok"),
            endpoint=_as_str(p.get("endpoint"), "endpoint"),
            created_at=_as_unix_datetime(p.get("created_at"), "created_at"),
            request=_as_object(p.get("request"), "request"),
            response=_as_object(p.get("response"), "response"),
            usage=_parse_usage(p.get("usage")),
            timing=_parse_timing(p.get("timing")),
            metadata=_as_object(p.get("metadata"), "metadata"),
            raw=dict(p),
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


def _to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # naive: FastRouter means UTC
    return moment.astimezone(UTC)


def _known_moment(moment: datetime) -> datetime | None:
    """``moment`` in UTC, or None (unknown) outside the years a real generation can have."""
    try:
        moment = _to_utc(moment)
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


def _parse_usage(value: Any) -> Usage:
    u = _sub_object(value, "usage")
    return Usage(
        prompt_tokens=_as_count(u.get("prompt_tokens"), "usage.prompt_tokens"),
        completion_tokens=_as_count(u.get("completion_tokens"), "usage.completion_tokens"),
        total_tokens=_as_count(u.get("total_tokens"), "usage.total_tokens"),
        cost=_as_amount(u.get("cost"), "usage.cost"),
    )


def _parse_timing(value: Any) -> Timing:
    t = _sub_object(value, "timing")
    return Timing(
        started_at=_as_unix_datetime(t.get("started_at"), "timing.started_at"),
        completed_at=_as_unix_datetime(t.get("completed_at"), "timing.completed_at"),
        duration_ms=_as_count(t.get("duration_ms"), "timing.duration_ms"),
    )


def _body_text(response: requests.Response) -> str:
    """The body as text; JSON is UTF-8 unless the server names another charset."""
    try:
        return response.content.decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise MalformedResponse("FastRouter sent a response that is not valid text.") from None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    moment = _to_utc(moment)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


# --------------------------------------------------------------------------- client


class FastRouterClient:
    """Fetches generation details, retrying transient failures within a deadline.

    One ``requests.Session`` per instance, reused by every call.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        max_attempts: int = 4,
        deadline: float = 30.0,
        max_retry_after: float = 30.0,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        take_slot: Callable[[], float] | None = None,
    ) -> None:
        self.base_url = (base_url or "").strip().rstrip("/")
        self.url = self.base_url + GENERATION_PATH
        # Private and never echoed: only ever placed in the Authorization header.
        self._api_key = (api_key or "").strip()
        self.timeout = timeout
        self.max_attempts = max(1, int(max_attempts))
        self.deadline = deadline
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        # Called before every attempt: the seconds to wait before sending, or a FastRouterError
        # (the shared rate budget is busy). Retries are requests too, so they take a slot each.
        self._take_slot = take_slot
        self.session = requests.Session()

    def __repr__(self) -> str:
        configured = "set" if self._api_key else "missing"
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<{configured}>, "
            f"timeout={self.timeout!r}, max_attempts={self.max_attempts!r}, deadline={self.deadline!r})"
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public

    def get_generation(self, generation_id: str) -> GenerationDetails:
        """Return the details of ``generation_id``, or raise a ``FastRouterError``."""
        generation_id = clean_generation_id(generation_id)
        self._check_configured()

        started = self._clock()
        give_up_at = started + self.deadline
        last_error: FastRouterError | None = None
        attempts_made = 0

        for attempt in range(self.max_attempts):
            remaining = give_up_at - self._clock()
            if remaining <= 0 and last_error is not None:
                break
            if self._take_slot is not None:
                self._wait_for_slot(last_error)
                remaining = give_up_at - self._clock()
            try:
                response = self.session.post(
                    self.url,
                    json={"generation_id": generation_id},
                    headers={
                        "Authorization": f"Bearer {self._api_key}",
                        "Accept": "application/json",
                    },
                    # Never let one attempt outlive the overall deadline.
                    timeout=max(0.001, min(self.timeout, remaining)),
                    # A redirect could carry the key elsewhere; treat it as an error instead.
                    allow_redirects=False,
                )
            except requests.exceptions.Timeout as exc:
                last_error = UpstreamUnavailable("FastRouter did not answer in time; try again later.")
                reason = type(exc).__name__
                delay = self._backoff(attempt)
            except requests.exceptions.ConnectionError as exc:
                last_error = UpstreamUnavailable()
                reason = type(exc).__name__
                delay = self._backoff(attempt)
            except requests.exceptions.RequestException as exc:
                # Invalid URL and the like: retrying will not help.
                last_error = UpstreamUnavailable("FastRouter could not be contacted; check FASTROUTER_BASE_URL.")
                reason = type(exc).__name__
                delay = None
            else:
                outcome = self._handle_response(response, attempt)
                if isinstance(outcome, GenerationDetails):
                    return outcome
                last_error, delay = outcome
                reason = f"HTTP {response.status_code}"
            attempts_made = attempt + 1
            if delay is None:
                # Raised outside the except block so no requests exception (which
                # may quote the request) rides along as __context__.
                logger.info("FastRouter request failed, not retryable (%s).", reason)
                raise last_error

            if attempts_made >= self.max_attempts:
                break
            if self._clock() + delay > give_up_at:
                logger.warning(
                    "FastRouter request failed (%s); not retrying: the %.1f s deadline would pass.",
                    reason,
                    self.deadline,
                )
                raise last_error
            logger.info(
                "FastRouter request attempt %d/%d failed (%s); retrying in %.2f s.",
                attempt + 1,
                self.max_attempts,
                reason,
                delay,
            )
            self._sleep(delay)

        assert last_error is not None
        logger.warning(
            "FastRouter request failed after %d attempt(s): %s",
            attempts_made,
            type(last_error).__name__,
        )
        raise last_error

    # -- internals

    def _check_configured(self) -> None:
        if not self._api_key:
            raise NotConfigured()
        # requests would reject such a header with an error quoting the key itself.
        if any(unicodedata.category(ch)[0] in "CZ" for ch in self._api_key):
            raise NotConfigured(
                "The FastRouter API key contains spaces or control characters — check FASTROUTER_API_KEY."
            )
        if not self.base_url:
            raise NotConfigured("FastRouter's address is not configured: set FASTROUTER_BASE_URL.")

    def _wait_for_slot(self, last_error: FastRouterError | None) -> None:
        assert self._take_slot is not None
        try:
            wait = self._take_slot()
        except FastRouterError:
            if last_error is None:
                raise
            # A retry without a slot: what FastRouter said says more than "the budget is busy".
            raise last_error from None
        if wait > 0:
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        # Exponential backoff with full jitter.
        return self._rng.uniform(0, self.backoff_base * 2**attempt)

    def _handle_response(
        self, response: requests.Response, attempt: int
    ) -> GenerationDetails | tuple[FastRouterError, float | None]:
        """A parsed result, or (error, delay before retrying; None = do not retry)."""
        status = response.status_code
        if 200 <= status <= 299:
            # An error message may quote the body: no piece of the key in it.
            return GenerationDetails.from_text(_body_text(response), secret=self._api_key)
        if status == 400:
            return InvalidGenerationId(), None
        if status in (401, 403):
            return AuthenticationFailed(), None
        if status == 404:
            return GenerationNotFound(), None
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = RateLimited(retry_after=retry_after)
            if retry_after is None:
                return error, self._backoff(attempt)
            if retry_after > self.max_retry_after:
                logger.warning(
                    "FastRouter asked us to wait %.1f s (more than %.1f s); giving up.",
                    retry_after,
                    self.max_retry_after,
                )
                return error, None
            return error, retry_after
        if 500 <= status <= 599:
            error = UpstreamError(status=status)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after <= self.max_retry_after:
                return error, retry_after
            return error, self._backoff(attempt)
        return UpstreamError(status=status), None
