import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from outtake.core.money import Money
from outtake.ledger.pools import FloorError, split_pool


def test_hundred_dollars_over_three_equal_parts():
    parts = split_pool(Money(10000), {"a": 150, "b": 150, "c": 150})
    assert [p.part.minor for p in parts] == [3334, 3333, 3333]
    assert [p.creator for p in parts] == ["a", "b", "c"]


def test_one_cent_over_many_creators():
    parts = split_pool(Money(1), {f"creator-{i:03d}": 100 for i in range(250)})
    assert sum(p.part.minor for p in parts) == 1
    assert [p.creator for p in parts if p.part.minor] == ["creator-000"]


def test_value_not_minutes_decides():
    # One 4K minute (3.00) against two SD minutes (2 × 0.50): 3 : 1.
    parts = split_pool(Money(10000), {"4k": 300, "sd": 100})
    assert {p.creator: p.part.minor for p in parts} == {"4k": 7500, "sd": 2500}


@given(
    st.integers(0, 10**9),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
)
def test_parts_always_add_up(total, values):
    parts = split_pool(Money(total), {i: v for i, v in enumerate(values)})
    assert sum(p.part.minor for p in parts) == total
    assert all(p.part.minor >= 0 for p in parts)


def test_a_floor_is_honoured_and_the_rest_shared_by_value():
    # 100.00 by value 3 : 1 gives 75.00 / 25.00; "sd" will not take less than 40.00.
    parts = {p.creator: p for p in split_pool(Money(10000), {"4k": 300, "sd": 100}, {"sd": 4000})}
    assert (parts["sd"].part.minor, parts["sd"].at_floor) == (4000, True)
    assert (parts["4k"].part.minor, parts["4k"].at_floor) == (6000, False)
    assert parts["4k"].shared.minor == 6000 and parts["4k"].shared_value.minor == 300


def test_floors_above_the_price_cannot_be_sold():
    with pytest.raises(FloorError, match=r"add up to 100\.01 USD"):
        split_pool(Money(10000), {"a": 1, "b": 1}, {"a": 5000, "b": 5001})


@st.composite
def pools(draw):
    n = draw(st.integers(1, 25))
    values = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    floors = draw(st.lists(st.integers(0, 10**5), min_size=n, max_size=n))
    slack = draw(st.integers(0, 10**7))
    return dict(enumerate(values)), dict(enumerate(floors)), sum(floors) + slack


@given(pools())
def test_floored_parts_add_up_and_meet_every_floor(pool):
    values, floors, total = pool
    parts = split_pool(Money(total), values, floors)
    assert sum(p.part.minor for p in parts) == total
    assert all(p.part.minor >= floors[p.creator] for p in parts)
    assert all(p.part == p.floor for p in parts if p.at_floor)
    # Those not held at a floor are still split in proportion to value (to the cent).
    free = [p for p in parts if not p.at_floor]
    assert free
    for p in free:
        exact = p.shared.minor * p.value.minor / (p.shared_value.minor or 1)
        assert abs(p.part.minor - exact) < 1 or p.shared_value.minor == 0
    if not any(floors.values()):
        assert [p.part for p in parts] == [p.part for p in split_pool(Money(total), values)]


@given(pools(), st.integers(1, 10**6))
def test_a_price_below_the_floors_is_refused(pool, short):
    values, floors, _ = pool
    need = sum(floors.values())
    assume(need >= short)
    with pytest.raises(FloorError):
        split_pool(Money(need - short), values, floors)
