from decimal import Decimal

import pytest

from generations.money import format_usd, from_pico, to_pico


@pytest.mark.parametrize("amount", ["0.004731", "0.000000000001", "123456.789012345678", "0"])
def test_pico_round_trip_is_exact(amount):
    assert from_pico(to_pico(Decimal(amount))) == Decimal(amount).quantize(Decimal("1e-12"))


def test_none_stays_unknown():
    assert to_pico(None) is None
    assert from_pico(None) is None
    assert format_usd(None) == "unknown"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.004731", "$0.004731"),
        ("0.0000000912", "$0.0000000912"),
        ("0.5", "$0.50"),
        ("12.3456", "$12.3456"),
        ("1234.567", "$1,234.57"),
        ("0", "$0.00"),
        ("-0.25", "-$0.25"),
    ],
)
def test_usd_shows_sub_cent_amounts(amount, text):
    assert format_usd(Decimal(amount)) == text
