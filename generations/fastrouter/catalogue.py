"""What FastRouter's model catalogue (`GET /api/v1/models`) answers: `Catalogue` of `CatalogueEntry`s,
parsed from a response body.

Tolerant like `details.py`: only a body that is not JSON, or holds no list of models, is an error.
One bad entry (no usable id, a price that is not a price) is reported in `Catalogue.rejected` or
`Price.problem` and never stops the others; unknown fields survive in each entry's `raw`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from generations.fastrouter.details import _as_count, _as_unix_datetime, _excerpt, _json_kind, _plain_json
from generations.fastrouter.errors import MalformedResponse

__all__ = ["PRICE_FIELDS", "Catalogue", "CatalogueEntry", "Price", "Pricing", "RejectedEntry"]

# Prices are stored as whole pico-dollars (money.py): finer ones could not be kept exactly.
_PICO = Decimal(1).scaleb(-12)
# No model costs $1,000 per token, image or request: such a value is a mistake upstream, and the
# bound keeps every price, and a price times any token count we store, far inside 64-bit pico-units.
MAX_PRICE = Decimal(1000)
# Some gateways publish "-1" for a price that depends on the call (routed, or billed by the provider).
_VARIABLE = Decimal(-1)
MAX_MODEL_ID_LENGTH = 200  # Generation.model's length: a longer id can never match a generation
PRICE_FIELDS = ("prompt", "completion", "image", "request")


@dataclass(frozen=True)
class Price:
    """One price of an entry, in USD per token (prompt, completion), per image or per request.

    `amount` is None when the price is absent (missing, null or ""), variable ("-1") or unusable;
    `problem` says why a value sent could not be used (the entry's `raw` keeps it as sent).
    """

    amount: Decimal | None = None
    variable: bool = False
    problem: str = ""

    @classmethod
    def parse(cls, value: Any) -> Price:
        if value is None or (isinstance(value, str) and not value.strip()):
            return cls()
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            return cls(problem=f"{_json_kind(value)}, not a price")
        try:
            amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            return cls(problem=f"{str(value)[:40]!r} is not a number")
        # Compared, never computed with, until known to be small: arithmetic on 1e999999999 overflows.
        if not amount.is_finite():
            return cls(problem=f"{str(value)[:40]!r} is not a finite number")
        if amount == _VARIABLE:
            return cls(variable=True)
        if amount < 0:
            return cls(problem=f"{str(value)[:40]!r} is negative")
        if amount >= MAX_PRICE:
            return cls(problem=f"{str(value)[:40]!r} is implausibly large (${MAX_PRICE} or more)")
        if amount != amount.quantize(_PICO):
            return cls(problem=f"{str(value)[:40]!r} is finer than a pico-dollar")
        return cls(amount=amount)

    @property
    def known(self) -> bool:
        return self.amount is not None


@dataclass(frozen=True)
class Pricing:
    prompt: Price = Price()
    completion: Price = Price()
    image: Price = Price()
    request: Price = Price()

    @classmethod
    def parse(cls, value: Any) -> Pricing:
        if not isinstance(value, Mapping):
            return cls()  # missing pricing: every price absent
        return cls(**{name: Price.parse(value.get(name)) for name in PRICE_FIELDS})

    @property
    def problems(self) -> list[str]:
        return [f"pricing.{name}: {price.problem}" for name in PRICE_FIELDS if (price := getattr(self, name)).problem]


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    name: str
    owned_by: str
    created: Any  # datetime | None (details.py's Unix-timestamp rules)
    context_length: int | None
    max_completion_tokens: int | None
    pricing: Pricing
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class RejectedEntry:
    """An entry that is not a model at all; `position` counts from 0 in the answer's list."""

    position: int
    reason: str


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[CatalogueEntry, ...]
    rejected: tuple[RejectedEntry, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> Catalogue:
        try:
            payload = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
        except (ValueError, RecursionError):
            excerpt = _excerpt(text)
            raise MalformedResponse(f"FastRouter sent a model list that is not valid JSON ({excerpt}).") from None
        return cls.from_payload(payload)

    @classmethod
    def from_payload(cls, payload: Any) -> Catalogue:
        """From a decoded body: `{"data": [...]}` as documented, or the bare list."""
        items = payload.get("data") if isinstance(payload, Mapping) else payload
        if not isinstance(items, list):
            raise MalformedResponse(f"FastRouter sent a model list without a list of models ({_json_kind(items)}).")
        entries: dict[str, CatalogueEntry] = {}
        rejected = []
        for position, item in enumerate(items):
            entry_or_reason = _entry(item)
            if isinstance(entry_or_reason, str):
                rejected.append(RejectedEntry(position, entry_or_reason))
            elif entry_or_reason.id in entries:
                rejected.append(RejectedEntry(position, f"a second entry for {entry_or_reason.id!r}"))
            else:
                entries[entry_or_reason.id] = entry_or_reason
        return cls(entries=tuple(entries.values()), rejected=tuple(rejected))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _entry(item: Any) -> CatalogueEntry | str:
    """The entry, or why it is none."""
    if not isinstance(item, Mapping):
        return f"{_json_kind(item)}, not a model object"
    model_id = _text(item.get("id"))
    if not model_id:
        return "no model id"
    if len(model_id) > MAX_MODEL_ID_LENGTH or not model_id.isprintable():
        return f"the model id {model_id[:40]!r}… is too long or unprintable"
    try:
        created = _as_unix_datetime(item.get("created"), "created")
    except MalformedResponse:
        created = None  # an odd date never costs the entry its prices
    return CatalogueEntry(
        id=model_id,
        name=_text(item.get("name"))[:200],
        owned_by=_text(item.get("owned_by"))[:100],
        created=created,
        context_length=_count(item.get("context_length")),
        max_completion_tokens=_count(item.get("max_completion_tokens")),
        pricing=Pricing.parse(item.get("pricing")),
        raw=_plain_json(dict(item)),
    )


def _count(value: Any) -> int | None:
    try:
        return _as_count(value, "count")
    except MalformedResponse:
        return None
