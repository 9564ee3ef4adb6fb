"""Money is stored as integer pico-units (1e-12 USD or credit).

Integers sum exactly in every database (SQLite's DECIMAL is a float underneath), and
twelve decimal places hold any per-call price FastRouter reports.
"""

from decimal import ROUND_HALF_EVEN, Decimal

_PICO = Decimal(1).scaleb(-12)


def to_pico(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    return int(amount.quantize(_PICO, rounding=ROUND_HALF_EVEN).scaleb(12))


def from_pico(pico: int | None) -> Decimal | None:
    if pico is None:
        return None
    return (Decimal(pico).scaleb(-12)).normalize() if pico else Decimal(0)
