"""Pooled collections: one price split among many creators by the value of their clips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from outtake.core.money import Money, allocate

FORMULA = (
    "Your part = collection price × (rate-card value of your clips ÷ rate-card value of all "
    "clips), rounded to the cent by the largest-remainder method so the parts add up exactly."
)


@dataclass(frozen=True)
class PoolPart:
    creator: Hashable
    value: Money  # rate-card value of the creator's clips in the collection
    part: Money  # the creator's part of the collection price


def split_pool(price: Money, values: dict[Hashable, int]) -> list[PoolPart]:
    """Split price in proportion to each creator's rate-card value (minor units).

    Rate-card value, not raw minutes, so a 4K minute counts for more than an SD minute.
    Creators are ordered by value, largest first, then by key, so ties break the same way
    every time.
    """
    order = sorted(values, key=lambda k: (-values[k], str(k)))
    parts = allocate(price, [values[k] for k in order])
    return [
        PoolPart(creator=k, value=Money(values[k], price.currency), part=p)
        for k, p in zip(order, parts, strict=True)
    ]


def split_collection(price: Money, clips: Iterable) -> list[PoolPart]:
    """Split a collection's price among the owners of its clips (catalog Clip rows)."""
    values: dict = defaultdict(int)
    for clip in clips:
        if clip.currency != price.currency:
            raise ValueError(f"clip priced in {clip.currency}, collection in {price.currency}")
        values[clip.asset.owner] += clip.price_minor
    return split_pool(price, dict(values))
