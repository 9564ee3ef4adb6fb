"""What a generation id may be: checked before anything is sent, stored or queued."""

import unicodedata

from generations.fastrouter.errors import InvalidGenerationId

MAX_GENERATION_ID_LENGTH = 256


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
