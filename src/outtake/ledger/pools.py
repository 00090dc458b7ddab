"""Pooled collections: one price split among many creators by the value of their clips."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal

from outtake.core.money import Money, allocate

FORMULA = (
    "Your part = collection price × (rate-card value of your clips ÷ rate-card value of all "
    "clips), rounded to the cent by the largest-remainder method so the parts add up exactly. "
    "No one gets less than their own minimum price per minute for their minutes: a part held "
    "at its minimum leaves the rest of the price to the others, split the same way."
)


class FloorError(ValueError):
    pass


@dataclass(frozen=True)
class PoolPart:
    creator: Hashable
    value: Money  # rate-card value of the creator's clips in the collection
    part: Money  # the creator's part of the collection price
    floor: Money  # the least the creator accepts for these clips (their terms)
    at_floor: bool  # held at the floor: the split by value would have given less
    # What was split by value among the parts not held at their floor, and their value.
    shared: Money
    shared_value: Money


def split_with_floors(
    total: Money, weights: dict[Hashable, int], floors: dict[Hashable, int], order: list
) -> tuple[dict[Hashable, Money], set, int]:
    """Largest-remainder split of total by weight in which no key gets less than its floor.

    Keys whose proportional part falls short are held at their floor and the rest is split
    among the others again, until no one falls short. Returns the parts, the keys held and
    the amount that was split by weight. Raises FloorError when the floors exceed the total.
    """
    need = sum(floors.get(k, 0) for k in order)
    if need > total.minor:
        raise FloorError(
            f"at {total} this cannot be sold: the creators' minimum prices for their minutes "
            f"add up to {Money(need, total.currency)}"
        )
    held: set = set()
    while True:
        free = [k for k in order if k not in held]
        rest = total.minor - sum(floors.get(k, 0) for k in held)
        w = {k: weights[k] for k in free}
        if not sum(w.values()):
            w = dict.fromkeys(free, 1)  # allocate() splits evenly then, and so do we
        wsum = sum(w.values())
        # Compared exactly: rest × w / wsum < floor. Floors are whole cents, so a part at
        # or above its floor before rounding stays there after (largest remainder only adds).
        short = {k for k in free if rest * w[k] < floors.get(k, 0) * wsum}
        if not short:
            break
        held |= short  # free never empties: need <= total leaves someone at or above floor
    parts = {k: Money(floors.get(k, 0), total.currency) for k in held}
    shared = Money(rest, total.currency)
    parts.update(zip(free, allocate(shared, [w[k] for k in free]), strict=True))
    return parts, held, rest


def split_pool(
    price: Money, values: dict[Hashable, int], floors: dict[Hashable, int] | None = None
) -> list[PoolPart]:
    """Split price in proportion to each creator's rate-card value (minor units), no one
    below their floor (minor units).

    Rate-card value, not raw minutes, so a 4K minute counts for more than an SD minute.
    Creators are ordered by value, largest first, then by key, so ties break the same way
    every time.
    """
    floors = floors or {}
    order = sorted(values, key=lambda k: (-values[k], str(k)))
    parts, held, shared = split_with_floors(price, values, floors, order)
    shared_value = sum(values[k] for k in order if k not in held)
    return [
        PoolPart(
            creator=k,
            value=Money(values[k], price.currency),
            part=parts[k],
            floor=Money(floors.get(k, 0), price.currency),
            at_floor=k in held,
            shared=Money(shared, price.currency),
            shared_value=Money(shared_value, price.currency),
        )
        for k in order
    ]


def clip_floor_minor(clip, terms: dict) -> int:
    """The least a video clip may earn under its creator's minimum price per minute, in
    whole minor units rounded up (the same test as rights.services.below_floor)."""
    floor = terms.get("min_price_per_minute")
    if floor is None or clip.kind != "video" or not clip.duration_s:
        return 0
    per_minute = Money.from_decimal(Decimal(floor), clip.currency).minor
    return math.ceil(Decimal(per_minute) * Decimal(str(clip.duration_s)) / 60)


def price_pooled_quote(quote, collection) -> None:
    """Price a quote's clips at the collection's fixed price: each creator's part by
    split_pool (no one below their minimum price per minute), then each clip's share of that
    part by its own value, again no clip below its floor, so clip prices add up to the part
    and parts to the price exactly. Raises FloorError when the price cannot cover the floors.

    Every item keeps the numbers of the formula in a "pool" price line: the license pins
    them and the creator's statement prints them.
    """
    items = list(quote.items.select_related("clip__asset__owner"))
    if not items:
        raise ValueError("no clip fits this collection")
    price = collection.price
    values: dict = defaultdict(int)
    floors: dict = defaultdict(int)
    clip_floors = {}
    for item in items:
        clip = item.clip
        if clip.currency != price.currency:
            raise ValueError(f"clip priced in {clip.currency}, collection in {price.currency}")
        clip_floors[item.pk] = clip_floor_minor(clip, item.terms_snapshot.get("terms", {}))
        values[clip.asset.owner] += clip.price_minor
        floors[clip.asset.owner] += clip_floors[item.pk]
    parts = split_pool(price, dict(values), dict(floors))
    pool_value = sum(p.value.minor for p in parts)
    for part in parts:
        own = [i for i in items if i.clip.asset.owner == part.creator]
        clip_parts, _, _ = split_with_floors(
            part.part,
            {i.pk: i.clip.price_minor for i in own},
            clip_floors,
            [i.pk for i in own],
        )
        for item in own:
            clip_part = clip_parts[item.pk]
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
                    "creator_floor_minor": part.floor.minor,
                    "at_floor": part.at_floor,
                    "shared_minor": part.shared.minor,
                    "shared_value_minor": part.shared_value.minor,
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

    def m(key: str, default: str = "") -> Money:
        return Money(pl.get(key, pl.get(default)), currency)

    head = f"Collection «{pl['collection']}»: your part {m('creator_part_minor')}"
    if pl.get("at_floor"):
        return f"{head} is your minimum price for your minutes. {FORMULA}"
    shared = m("shared_minor", "price_minor")
    of_what = "" if shared == m("price_minor") else " (the price less the parts held at a minimum)"
    return (
        f"{head} = {shared}{of_what} × {m('creator_value_minor')} ÷ "
        f"{m('shared_value_minor', 'pool_value_minor')}. {FORMULA}"
    )
