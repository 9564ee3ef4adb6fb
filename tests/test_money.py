from decimal import Decimal

import pytest

from generations.money import from_pico, to_pico


@pytest.mark.parametrize("amount", ["0.004731", "0.000000000001", "123456.789012345678", "0"])
def test_pico_round_trip_is_exact(amount):
    assert from_pico(to_pico(Decimal(amount))) == Decimal(amount).quantize(Decimal("1e-12"))


def test_none_stays_unknown():
    assert to_pico(None) is None
    assert from_pico(None) is None
