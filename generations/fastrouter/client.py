"""HTTP client for FastRouter's "Get Generation Details" and "List Models" endpoints.

This is the only module of the project that talks HTTP (and imports ``requests``).
It is deliberately framework-free: `factory.py` builds this thread's client from Django settings.
The errors it raises are in `errors.py`, the id rules in `ids.py`, the answers it parses in `details.py`
and `catalogue.py`.
"""

from __future__ import annotations

import logging
import math
import random
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self, TypeVar

import requests

from generations.fastrouter.catalogue import Catalogue
from generations.fastrouter.details import GenerationDetails, to_utc
from generations.fastrouter.errors import (
    AuthenticationFailed,
    FastRouterError,
    GenerationNotFound,
    InvalidGenerationId,
    MalformedResponse,
    NotConfigured,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from generations.fastrouter.ids import clean_generation_id

__all__ = ["FastRouterClient", "parse_retry_after"]

logger = logging.getLogger("generations.client")

GENERATION_PATH = "/api/v1/generation"
MODELS_PATH = "/api/v1/models"

Answer = TypeVar("Answer")


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
    moment = to_utc(moment)
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
        return self._call(
            "POST",
            self.url,
            json_body={"generation_id": generation_id},
            # An error message may quote the body: no piece of the key in it.
            parse=lambda text: GenerationDetails.from_text(text, secret=self._api_key),
            refusals={400: InvalidGenerationId, 404: GenerationNotFound},
        )

    def list_models(self) -> Catalogue:
        """FastRouter's model catalogue, or a ``FastRouterError``. It needs no key, so none is sent."""
        if not self.base_url:
            raise NotConfigured("FastRouter's address is not configured: set FASTROUTER_BASE_URL.")
        return self._call("GET", self.base_url + MODELS_PATH, json_body=None, parse=Catalogue.from_text, refusals={})

    # -- internals

    def _call(
        self,
        method: str,
        url: str,
        *,
        json_body: dict | None,
        parse: Callable[[str], Answer],
        refusals: dict[int, type[FastRouterError]],
    ) -> Answer:
        """One request, retried within the deadline; ``refusals`` maps the statuses that mean
        "not this one" (never retried) to their errors."""
        started = self._clock()
        give_up_at = started + self.deadline
        last_error: FastRouterError | None = None
        attempts_made = 0
        headers = {"Accept": "application/json"}
        if json_body is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"

        for attempt in range(self.max_attempts):
            remaining = give_up_at - self._clock()
            if remaining <= 0 and last_error is not None:
                break
            if self._take_slot is not None:
                self._wait_for_slot(last_error)
                remaining = give_up_at - self._clock()
            response, last_error, reason, delay = self._attempt(
                method,
                url,
                json_body=json_body,
                headers=headers,
                # Never let one attempt outlive the overall deadline.
                timeout=max(0.001, min(self.timeout, remaining)),
                attempt=attempt,
                refusals=refusals,
            )
            if response is not None:
                return parse(_body_text(response))
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

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        json_body: dict | None,
        headers: dict[str, str],
        timeout: float,
        attempt: int,
        refusals: dict[int, type[FastRouterError]],
    ) -> tuple[requests.Response | None, FastRouterError | None, str, float | None]:
        """One request: (a successful response, or None with its error, the reason for the log and
        the delay before a retry: None when retrying cannot help)."""
        try:
            response = self.session.request(
                method,
                url,
                json=json_body,
                headers=headers,
                timeout=timeout,
                # A redirect could carry the key elsewhere; treat it as an error instead.
                allow_redirects=False,
            )
        except requests.exceptions.Timeout as exc:
            error = UpstreamUnavailable("FastRouter did not answer in time; try again later.")
            return None, error, type(exc).__name__, self._backoff(attempt)
        except requests.exceptions.ConnectionError as exc:
            return None, UpstreamUnavailable(), type(exc).__name__, self._backoff(attempt)
        except requests.exceptions.RequestException as exc:
            # Invalid URL and the like: retrying will not help.
            error = UpstreamUnavailable("FastRouter could not be contacted; check FASTROUTER_BASE_URL.")
            return None, error, type(exc).__name__, None
        if 200 <= response.status_code <= 299:
            return response, None, "", None
        error, delay = self._refusal(response, attempt, refusals)
        return None, error, f"HTTP {response.status_code}", delay

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

    def _refusal(
        self, response: requests.Response, attempt: int, refusals: dict[int, type[FastRouterError]]
    ) -> tuple[FastRouterError, float | None]:
        """A non-2xx answer as (error, delay before retrying; None = do not retry)."""
        status = response.status_code
        if status in refusals:
            return refusals[status](), None
        if status in (401, 403):
            return AuthenticationFailed(), None
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
