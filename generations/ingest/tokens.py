"""Bearer tokens for the APIs: created once, stored only as SHA-256.

The mechanism is shared by every token kind (a model with `name`, `token_hash`, `prefix`,
`created_by`, `revoked_at`, `last_used_at`); each kind has its own table and prefix, so a token
of one scope is never found when another is asked for. Ingest tokens (POST /api/ingest) are here;
read tokens live in monitoring/tokens.py.
"""

import hashlib
import hmac
import secrets

from django.db.models import Model
from django.utils import timezone

from generations.ingest.models import IngestToken

TOKEN_PREFIX = "frdi_"  # noqa: S105 (a marker, not a secret)
MAX_TOKEN_LENGTH = 200


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer_token_create(*, model: type[Model], prefix: str, name: str, user=None) -> tuple:
    """A new token and its raw value, which is returned this once and never stored."""
    raw = prefix + secrets.token_urlsafe(32)
    token = model.objects.create(
        name=name,
        token_hash=token_digest(raw),
        prefix=raw[:12],
        created_by=user if user and user.is_authenticated else None,
    )
    return token, raw


def bearer_token_authenticate(*, model: type[Model], prefix: str, raw: str):
    """The live token of `model` matching ``raw``, or None (unknown, revoked, malformed or another kind)."""
    raw = raw.strip()
    if not raw.startswith(prefix) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = token_digest(raw)
    token = model.objects.filter(token_hash=digest, revoked_at__isnull=True).first()
    # The lookup is by hash already; compare_digest keeps the final check constant-time.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    model.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def bearer_token_revoke(*, tokens) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def ingest_token_create(*, name: str, user=None) -> tuple[IngestToken, str]:
    return bearer_token_create(model=IngestToken, prefix=TOKEN_PREFIX, name=name, user=user)


def ingest_token_authenticate(*, raw: str) -> IngestToken | None:
    return bearer_token_authenticate(model=IngestToken, prefix=TOKEN_PREFIX, raw=raw)


ingest_token_revoke = bearer_token_revoke
