"""Read tokens (GET /metrics, /api/v1): the ingest tokens' mechanism over their own table and prefix."""

from django.db import transaction
from django.http import HttpRequest

from generations.ingest.tokens import TOKEN_PREFIX as INGEST_TOKEN_PREFIX
from generations.ingest.tokens import bearer_token_authenticate, bearer_token_create, bearer_token_revoke
from monitoring.models import ReadToken

READ_TOKEN_PREFIX = "frdr_"  # noqa: S105 (a marker, not a secret)


def read_token_create(*, name: str, user=None) -> tuple[ReadToken, str]:
    return bearer_token_create(model=ReadToken, prefix=READ_TOKEN_PREFIX, name=name, user=user)


def read_token_authenticate(*, raw: str) -> ReadToken | None:
    return bearer_token_authenticate(model=ReadToken, prefix=READ_TOKEN_PREFIX, raw=raw)


def _bearer(request: HttpRequest) -> str:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def read_token_of(request: HttpRequest) -> ReadToken | None:
    """The live read token in the request's `Authorization: Bearer` header, or None."""
    raw = _bearer(request)
    return read_token_authenticate(raw=raw) if raw else None


def is_ingest_token(request: HttpRequest) -> bool:
    """Whether the bearer token is of the ingest kind (by its prefix): it may be valid, but it
    cannot read, so the answer is 403 (insufficient scope), not 401."""
    return _bearer(request).startswith(INGEST_TOKEN_PREFIX)


# RFC 6750: a token without the scope asked for.
INSUFFICIENT_SCOPE = (
    "An ingest token (frdi_…) cannot read: use a read token (frdr_…), made with "
    "python manage.py create_token NAME --scope read."
)


read_token_revoke = bearer_token_revoke


def read_token_renew(*, name: str) -> tuple[ReadToken, str]:
    """Revoke the live read tokens called `name` and make a new one: a token printed again on
    every start (make run's) never leaves older ones behind."""
    with transaction.atomic():
        read_token_revoke(tokens=ReadToken.objects.filter(name=name))
        return read_token_create(name=name)
