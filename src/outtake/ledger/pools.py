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


def price_pooled_quote(quote, collection) -> None:
    """Price a quote's clips at the collection's fixed price: each creator's part by
    split_collection, then each clip's share of that part by its own value (largest
    remainder again), so clip prices add up to the part and parts to the price exactly.

    Every item keeps the numbers of the formula in a "pool" price line: the license pins
    them and the creator's statement prints them.
    """
    items = list(quote.items.select_related("clip__asset__owner"))
    if not items:
        raise ValueError("no clip fits this collection")
    price = collection.price
    parts = split_collection(price, [i.clip for i in items])
    pool_value = sum(p.value.minor for p in parts)
    for part in parts:
        own = [i for i in items if i.clip.asset.owner == part.creator]
        for item, clip_part in zip(
            own, allocate(part.part, [i.clip.price_minor for i in own]), strict=True
        ):
            item.price_minor = clip_part.minor
            item.price_lines = [
                {
                    "kind": "pool",
                    "code": f"collection-{collection.pk}",
                    "label": f"Part of the collection «{collection.title}»",
                    "amount": {"minor": clip_part.minor, "currency": price.currency},
                    "collection": collection.title,
                    "price_minor": price.minor,
                    "clip_value_minor": item.clip.price_minor,
                    "creator_value_minor": part.value.minor,
                    "pool_value_minor": pool_value,
                    "creator_part_minor": part.part.minor,
                }
            ]
    type(items[0]).objects.bulk_update(items, ["price_minor", "price_lines"])
    quote.total_minor = price.minor
    quote.rule = f"Pooled collection «{collection.title}» at {price}. {FORMULA}"
    quote.save(update_fields=["total_minor", "rule"])


def pool_formula(price_lines: list[dict]) -> str:
    """The formula with a creator's own numbers, from a pooled sale's price line."""
    pl = next((pl for pl in price_lines if pl.get("kind") == "pool"), None)
    if pl is None:
        return ""
    currency = pl["amount"]["currency"]
    m = {
        k: Money(pl[k], currency)
        for k in ("price_minor", "creator_value_minor", "pool_value_minor", "creator_part_minor")
    }
    return (
        f"Collection «{pl['collection']}»: your part {m['creator_part_minor']} = "
        f"{m['price_minor']} × {m['creator_value_minor']} ÷ {m['pool_value_minor']}. {FORMULA}"
    )
