"""Itemised clip prices from a rate card.

A price is a list of lines (base tier, each premium, each deduction) so later analysis adds
lines instead of rewriting the formula; buyers and creators see the same lines.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from outtake.core.money import Money

DEFAULT_RATE_CARD = Path(__file__).with_name("rate_card.toml")
HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}


@dataclass(frozen=True)
class VideoTier:
    code: str
    label: str
    min_long_side: int
    per_minute: Decimal


@dataclass(frozen=True)
class PhotoTier:
    code: str
    label: str
    min_megapixels: Decimal
    price: Decimal


@dataclass(frozen=True)
class Premium:
    code: str
    label: str
    tags: frozenset[str]
    per_minute: Decimal


@dataclass(frozen=True)
class RateCard:
    currency: str
    creator_share: Decimal
    payout_minimum: Decimal
    exclusive_multiplier: Decimal
    min_clip_seconds: Decimal
    video_tiers: tuple[VideoTier, ...]
    premiums: tuple[Premium, ...]
    photo_tiers: tuple[PhotoTier, ...]
    warn_deduction: Decimal

    @classmethod
    def from_toml(cls, text: str) -> RateCard:
        raw = tomllib.loads(text)
        return cls(
            currency=raw["currency"],
            creator_share=Decimal(raw["creator_share"]),
            payout_minimum=Decimal(raw["payout_minimum"]),
            exclusive_multiplier=Decimal(raw["exclusive_multiplier"]),
            min_clip_seconds=Decimal(raw["min_clip_seconds"]),
            video_tiers=tuple(
                sorted(
                    (
                        VideoTier(
                            t["code"], t["label"], int(t["min_long_side"]), Decimal(t["per_minute"])
                        )
                        for t in raw["video_tiers"]
                    ),
                    key=lambda t: -t.min_long_side,
                )
            ),
            premiums=tuple(
                Premium(p["code"], p["label"], frozenset(p["tags"]), Decimal(p["per_minute"]))
                for p in raw["premiums"]
            ),
            photo_tiers=tuple(
                sorted(
                    (
                        PhotoTier(
                            t["code"], t["label"], Decimal(t["min_megapixels"]), Decimal(t["price"])
                        )
                        for t in raw["photo_tiers"]
                    ),
                    key=lambda t: -t.min_megapixels,
                )
            ),
            warn_deduction=Decimal(raw["quality"]["warn_deduction"]),
        )

    def video_tier(self, width: int, height: int) -> VideoTier:
        long_side = max(width, height)
        return next(t for t in self.video_tiers if long_side >= t.min_long_side)

    def photo_tier(self, width: int, height: int) -> PhotoTier:
        megapixels = Decimal(width * height) / Decimal(1_000_000)
        return next(t for t in self.photo_tiers if megapixels >= t.min_megapixels)


@cache
def load_rate_card(path: str | None = None) -> RateCard:
    return RateCard.from_toml(Path(path or DEFAULT_RATE_CARD).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ClipFacts:
    """What pricing needs to know about a clip."""

    kind: str  # "video" | "image"
    width: int
    height: int
    duration_s: float | None = None
    fps: float | None = None
    color_transfer: str | None = None
    tags: frozenset[str] = frozenset()
    # Quality findings: dicts with "code", "severity" ("warn" | "fail") and "reason".
    problems: tuple[dict, ...] = ()


@dataclass(frozen=True)
class PriceLine:
    kind: str  # "base" | "premium" | "deduction" | "multiplier"
    code: str
    label: str
    amount: Money

    def as_dict(self) -> dict:
        d = asdict(self)
        d["amount"] = {"minor": self.amount.minor, "currency": self.amount.currency}
        return d


@dataclass
class Price:
    lines: list[PriceLine] = field(default_factory=list)
    sellable: bool = True
    reasons: list[str] = field(default_factory=list)
    tier: str = ""

    @property
    def total(self) -> Money:
        currency = self.lines[0].amount.currency if self.lines else "USD"
        total = Money.zero(currency)
        for line in self.lines:
            total = total + line.amount
        return total


def derived_tags(facts: ClipFacts) -> set[str]:
    """Tags that follow from technical metadata alone."""
    tags: set[str] = set()
    if facts.kind == "video":
        if facts.fps and facts.fps >= 49.5:
            tags.add("high_fps")
        if (facts.color_transfer or "").lower() in HDR_TRANSFERS:
            tags.add("hdr")
        if max(facts.width, facts.height) >= 3840:
            tags.add("4k")
    return tags


def price_clip(facts: ClipFacts, card: RateCard, *, exclusive: bool = False) -> Price:
    price = Price()
    for problem in facts.problems:
        if problem.get("severity") == "fail":
            price.sellable = False
            price.reasons.append(problem.get("reason") or problem.get("code", "quality"))
    if facts.kind == "image":
        tier = card.photo_tier(facts.width, facts.height)
        price.tier = tier.code
        price.lines.append(
            PriceLine("base", tier.code, tier.label, Money.from_decimal(tier.price, card.currency))
        )
    else:
        seconds = Decimal(str(facts.duration_s or 0))
        if seconds < card.min_clip_seconds:
            price.sellable = False
            price.reasons.append(f"shorter than {card.min_clip_seconds} s")
        minutes = seconds / 60
        tier = card.video_tier(facts.width, facts.height)
        price.tier = tier.code
        price.lines.append(
            PriceLine(
                "base",
                tier.code,
                f"{tier.label}, {minutes:.2f} min × {tier.per_minute}/min",
                Money.from_decimal(tier.per_minute * minutes, card.currency),
            )
        )
        tags = set(facts.tags) | derived_tags(facts)
        for premium in card.premiums:
            if premium.tags & tags:
                price.lines.append(
                    PriceLine(
                        "premium",
                        premium.code,
                        f"{premium.label} +{premium.per_minute}/min",
                        Money.from_decimal(premium.per_minute * minutes, card.currency),
                    )
                )
    _apply_quality(price, facts.problems, card)
    if exclusive:
        extra = price.total.times(card.exclusive_multiplier - 1)
        price.lines.append(
            PriceLine("multiplier", "exclusive", f"Exclusive ×{card.exclusive_multiplier}", extra)
        )
    return price


def _apply_quality(price: Price, problems: Iterable[dict], card: RateCard) -> None:
    for problem in problems:
        if problem.get("severity") != "warn":
            continue
        cut = -price.total.times(card.warn_deduction)
        price.lines.append(
            PriceLine(
                "deduction",
                problem.get("code", "quality"),
                f"{problem.get('reason', 'quality warning')} −{card.warn_deduction * 100:.0f} %",
                cut,
            )
        )
