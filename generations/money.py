"""Money is stored as integer pico-units (1e-12 USD or credit).

Integers sum exactly in every database (SQLite's DECIMAL is a float underneath), and
twelve decimal places hold any per-call price FastRouter reports.
"""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

_PICO = Decimal(1).scaleb(-12)


def to_pico(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    return int(amount.quantize(_PICO, rounding=ROUND_HALF_EVEN).scaleb(12))


def from_pico(pico: int | None) -> Decimal | None:
    if pico is None:
        return None
    return (Decimal(pico).scaleb(-12)).normalize() if pico else Decimal(0)


class InUsd:
    """A read-only attribute: another attribute's pico-units as exact USD, e.g.
    `charged = InUsd("charged_pico")`."""

    def __init__(self, pico_attribute: str) -> None:
        self.pico_attribute = pico_attribute

    def __get__(self, instance: Any, owner: type) -> Any:
        return self if instance is None else from_pico(getattr(instance, self.pico_attribute))
