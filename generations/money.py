"""Money is stored as integer pico-units (1e-12 USD or credit).

Integers sum exactly in every database (SQLite's DECIMAL is a float underneath), and
twelve decimal places hold any per-call price FastRouter reports.
"""

from decimal import ROUND_HALF_EVEN, Decimal

PICO_PER_UNIT = 10**12
_PICO = Decimal(1).scaleb(-12)


def to_pico(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    return int(amount.quantize(_PICO, rounding=ROUND_HALF_EVEN).scaleb(12))


def from_pico(pico: int | None) -> Decimal | None:
    if pico is None:
        return None
    return (Decimal(pico).scaleb(-12)).normalize() if pico else Decimal(0)


def format_usd(amount: Decimal | None) -> str:
    """Dollars with enough digits that a sub-cent call never shows as $0.00."""
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0.00"
    magnitude = abs(amount)
    if magnitude >= 100:
        places = 2
    elif magnitude >= 1:
        places = 4
    else:
        # Four significant digits below a dollar: $0.004731, $0.0000912.
        places = min(12, max(4, -magnitude.adjusted() + 3))
    text = f"{magnitude:,.{places}f}"
    if places > 2:
        text = text.rstrip("0")
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.ljust(2, '0')}"
    return f"-${text}" if amount < 0 else f"${text}"
