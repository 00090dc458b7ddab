import pytest
from hypothesis import given
from hypothesis import strategies as st

from outtake.core.money import Money
from outtake.ledger.pools import FORMULA, split_collection, split_pool
from tests.factories import ready_clip


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


@pytest.mark.django_db
def test_collection_split_by_rate_card_value(make_user):
    a, b = make_user("creator"), make_user("creator")
    clips = [
        ready_clip(a, width=3840, height=2160),
        ready_clip(b, width=640, height=360),
        ready_clip(b, width=640, height=360),
    ]
    parts = split_collection(Money(100000), clips)
    values = {p.creator: p.value.minor for p in parts}
    assert values[a.organization] == clips[0].price_minor
    assert values[b.organization] == clips[1].price_minor + clips[2].price_minor
    assert sum(p.part.minor for p in parts) == 100000
    assert parts[0].creator == a.organization  # 4K is worth more than twice the SD
    assert "largest-remainder" in FORMULA
