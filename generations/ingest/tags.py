"""Tags: short key/value labels an application hands over with its ids (``feature=search``, ``user=42``).

They are kept on the id's `LookupRequest` and copied to `GenerationTag` rows when the generation
is stored, which is what tag filters and a cost-by-tag breakdown read. The limits keep one id's
tags small whatever a client sends; the reporter in contrib/reporter checks the same ones.
"""

import re

MAX_TAGS = 20
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 200
# Keyword-argument names (report(id, feature="search")) and dotted attribute names (OpenTelemetry's
# "user.id") both fit; nothing that needs quoting in a URL filter or a CSV header.
_KEY = re.compile(r"[A-Za-z0-9_.:-]+")


class InvalidTags(ValueError):
    """``str(error)`` says what is wrong, safe to show to the client."""


def clean_tags(raw: object) -> dict[str, str]:
    """A flat object of text keys and text values within the limits, or InvalidTags."""
    if not isinstance(raw, dict):
        raise InvalidTags('tags must be a JSON object of text values, like {"feature": "search"}.')
    if len(raw) > MAX_TAGS:
        raise InvalidTags(f"{len(raw)} tags sent; at most {MAX_TAGS} are accepted per id.")
    for key, value in raw.items():
        if not _KEY.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            raise InvalidTags(
                f"tag name {key[:MAX_KEY_LENGTH]!r} is not accepted: use 1 to {MAX_KEY_LENGTH} letters, digits "
                "or _ . : -"
            )
        if not isinstance(value, str):
            raise InvalidTags(f"tag {key!r} must be text, not {type(value).__name__}: send numbers as strings.")
        if not value or len(value) > MAX_VALUE_LENGTH or not value.isprintable():
            raise InvalidTags(
                f"tag {key!r} must be 1 to {MAX_VALUE_LENGTH} printable characters (no line breaks or control "
                "characters)."
            )
    return dict(raw)
