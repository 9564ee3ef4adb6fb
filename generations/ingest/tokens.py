"""Per-integration bearer tokens for POST /api/ingest: created once, stored only as SHA-256."""

import hashlib
import hmac
import secrets

from django.utils import timezone

from generations.ingest.models import IngestToken

TOKEN_PREFIX = "frdi_"  # noqa: S105 (a marker, not a secret)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def ingest_token_create(*, name: str, user=None) -> tuple[IngestToken, str]:
    """A new token and its raw value, which is returned this once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = IngestToken.objects.create(
        name=name, token_hash=_hash(raw), prefix=raw[:12], created_by=user if user and user.is_authenticated else None
    )
    return token, raw


def ingest_token_authenticate(*, raw: str) -> IngestToken | None:
    """The live token matching ``raw``, or None (unknown, revoked or malformed)."""
    raw = raw.strip()
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = _hash(raw)
    token = IngestToken.objects.filter(token_hash=digest, revoked_at__isnull=True).first()
    # The lookup is by hash already; compare_digest keeps the final check constant-time.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    IngestToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def ingest_token_revoke(*, tokens) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
