"""What labs and creators see of pooled collections: what a collection holds now, and for a
creator, which of their clips are in which collection and their part.

What a collection holds is read from the catalogue (tier and tags); a lab's quote then also
checks every creator's terms for that lab, so it can hold fewer clips than shown here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from outtake.core.money import Money
from outtake.ledger.models import Collection
from outtake.ledger.pools import FloorError, clip_floor_minor, pool_formula, split_pool
from outtake.ledger.services import sale_shares, split_sale


def fitting_clips(collection: Collection, buyer_org=None) -> list:
    """Catalogue video clips that fit the collection's tier and tags (for a buyer: those it
    could still license)."""
    from outtake.market.services import _tier_rank, available_clips

    ranks = _tier_rank()
    least = ranks.get(collection.min_tier, 0)
    need = set(collection.tags_required)
    catalogue = available_clips(buyer_org).filter(kind="video", currency=collection.currency)
    return [
        clip
        for clip in catalogue
        if ranks.get(clip.tier, 0) >= least and need <= {*clip.tags, *clip.asset.creator_tags}
    ]


def _minutes(clips) -> Decimal:
    return (Decimal(str(sum(c.duration_s or 0 for c in clips))) / 60).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Offer:
    collection: Collection
    clips: int
    minutes: Decimal
    creators: int
    tiers: list[str]


def offers(buyer_org) -> list[Offer]:
    """Every collection on offer, with what it would hold for this buyer now."""
    labels = {t.code: t.label for t in settings.RATE_CARD.video_tiers}
    out = []
    for collection in Collection.objects.filter(active=True).order_by("title", "id"):
        clips = fitting_clips(collection, buyer_org)
        tiers = sorted({c.tier for c in clips}, key=list(labels).index)
        out.append(
            Offer(
                collection=collection,
                clips=len(clips),
                minutes=_minutes(clips),
                creators=len({c.asset.owner_id for c in clips}),
                tiers=[labels[t] for t in tiers],
            )
        )
    return out


@dataclass
class Place:
    """A creator's clips in one collection on offer, and their part if it sold today."""

    collection: Collection
    clips: list = field(default_factory=list)
    minutes: Decimal = Decimal(0)
    value: Money | None = None
    part: Money | None = None
    share: Money | None = None
    problem: str = ""  # why it cannot be sold at its price now


def places(org) -> list[Place]:
    """Collections on offer that hold some of the creator's clips, with the part they would
    get today by the published split (rate-card value, minimum prices honoured)."""
    from outtake.rights.services import snapshot

    out = []
    for collection in Collection.objects.filter(active=True).order_by("title", "id"):
        clips = fitting_clips(collection)
        mine = [c for c in clips if c.asset.owner_id == org.id]
        if not mine:
            continue
        values: dict = defaultdict(int)
        floors: dict = defaultdict(int)
        terms: dict = {}
        for clip in clips:
            if clip.asset_id not in terms:
                terms[clip.asset_id] = snapshot(clip.asset)["terms"]
            values[clip.asset.owner_id] += clip.price_minor
            floors[clip.asset.owner_id] += clip_floor_minor(clip, terms[clip.asset_id])
        place = Place(collection=collection, clips=mine, minutes=_minutes(mine))
        place.value = Money(values[org.id], collection.currency)
        try:
            parts = split_pool(collection.price, dict(values), dict(floors))
        except FloorError as exc:
            place.problem = str(exc)
        else:
            place.part = next(p.part for p in parts if p.creator == org.id)
            place.share = split_sale({org: place.part.minor}, collection.currency)[0][org]
        out.append(place)
    return out


@dataclass(frozen=True)
class PooledSale:
    collection: str
    license_id: str
    at: object
    clips: int
    minutes: Decimal
    part: Money
    share: Money
    status: str
    formula: str


def pooled_sales(org) -> list[PooledSale]:
    """The creator's clips sold in collections: per license, their part, share and formula."""
    from outtake.market.models import LicenseItem

    items = (
        LicenseItem.objects.filter(creator=org, price_lines__0__kind="pool")
        .select_related("license__invoice", "clip")
        .order_by("-license__created_at", "id")
    )
    by_license: dict = defaultdict(list)
    for item in items:
        by_license[item.license].append(item)
    out = []
    for lic, own in by_license.items():
        invoice = getattr(lic, "invoice", None)
        shares = sale_shares(lic)[0] if invoice else {}
        out.append(
            PooledSale(
                collection=own[0].price_lines[0]["collection"],
                license_id=str(lic.id),
                at=lic.created_at,
                clips=len(own),
                minutes=_minutes([i.clip for i in own]),
                part=Money(sum(i.price_minor for i in own), lic.currency),
                share=shares.get(org, Money.zero(lic.currency)),
                status=invoice.status if invoice else "not invoiced",
                formula=pool_formula(own[0].price_lines),
            )
        )
    return out
