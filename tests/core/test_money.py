from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outtake.core.money import CurrencyMismatch, Money, allocate


def test_from_decimal_rounds_half_even_to_cents():
    assert Money.from_decimal("0.125").minor == 12
    assert Money.from_decimal("0.135").minor == 14
    assert Money.from_decimal("1.50", "JPY").minor == 2


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5)
    with pytest.raises(CurrencyMismatch):
        Money(1, "USD") + Money(1, "EUR")


def test_str_shows_major_units():
    assert str(Money(123456, "USD")) == "1,234.56 USD"


def test_allocate_hundred_dollars_in_three():
    parts = allocate(Money(10000), [1, 1, 1])
    assert [p.minor for p in parts] == [3334, 3333, 3333]


def test_allocate_one_cent_over_many():
    parts = allocate(Money(1), [1] * 7)
    assert sum(p.minor for p in parts) == 1
    assert sorted(p.minor for p in parts) == [0] * 6 + [1]


@given(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_allocate_always_adds_up(total, weights):
    parts = allocate(Money(total), weights)
    assert sum(p.minor for p in parts) == total
    if sum(weights):
        for part, w in zip(parts, weights, strict=True):
            exact = Decimal(total) * w / sum(weights)
            assert abs(part.minor - exact) < 1
