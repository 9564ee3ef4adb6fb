"""Read tokens (GET /metrics, /api/v1): the ingest tokens' mechanism over their own table and prefix."""

from django.http import HttpRequest

from generations.ingest.tokens import bearer_token_authenticate, bearer_token_create, bearer_token_revoke
from monitoring.models import ReadToken

READ_TOKEN_PREFIX = "frdr_"  # noqa: S105 (a marker, not a secret)


def read_token_create(*, name: str, user=None) -> tuple[ReadToken, str]:
    return bearer_token_create(model=ReadToken, prefix=READ_TOKEN_PREFIX, name=name, user=user)


def read_token_authenticate(*, raw: str) -> ReadToken | None:
    return bearer_token_authenticate(model=ReadToken, prefix=READ_TOKEN_PREFIX, raw=raw)


def read_token_of(request: HttpRequest) -> ReadToken | None:
    """The live read token in the request's `Authorization: Bearer` header, or None."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return read_token_authenticate(raw=raw) if scheme.lower() == "bearer" else None


read_token_revoke = bearer_token_revoke
