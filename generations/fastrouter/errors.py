"""What can go wrong talking to FastRouter: the `FastRouterError` family, each with a `user_message`
that is safe to show in a page (never the API key, never more than a short excerpt of a body).

Views, forms and the queue catch these without depending on the HTTP client."""

from __future__ import annotations

import math

__all__ = [
    "AuthenticationFailed",
    "FastRouterError",
    "GenerationNotFound",
    "InvalidGenerationId",
    "MalformedResponse",
    "NotConfigured",
    "RateLimited",
    "UpstreamError",
    "UpstreamUnavailable",
]


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
