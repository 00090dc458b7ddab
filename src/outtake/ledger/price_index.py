"""The open price index: what labs actually paid per minute of video, by tier and by tag.

A cell is published only with at least MIN_SALES sales (licenses) from at least
MIN_CREATORS creators, so no single deal or creator can be read off it. Refunded sales
and unpaid invoices do not count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.conf import settings
from django.utils import timezone

from outtake.core.money import Money
from outtake.ledger.models import Invoice
from outtake.market.models import LicenseItem

DAYS = 90
MIN_SALES = 5
MIN_CREATORS = 3
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Cell:
    dimension: str  # "tier" | "tag"
    key: str
    sales: int
    creators: int
    minutes: Decimal
    median: Decimal  # per minute, major units
    low: Decimal
    high: Decimal
    rate_card: Decimal | None  # the published base rate, for tiers


def price_index(now: datetime | None = None) -> list[Cell]:
    now = now or timezone.now()
    items = LicenseItem.objects.filter(
        clip__kind="video",
        license__invoice__status=Invoice.Status.PAID,
        license__invoice__paid_at__gte=now - timedelta(days=DAYS),
        license__currency=settings.RATE_CARD.currency,
    ).select_related("clip__asset", "license")
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for item in items:
        seconds = item.clip.duration_s or 0
        if seconds <= 0:
            continue
        per_minute = Money(item.price_minor, item.license.currency).to_decimal() / (
            Decimal(str(seconds)) / 60
        )
        row = (item.license_id, item.creator_id, per_minute, Decimal(str(seconds)) / 60)
        groups[("tier", item.clip.tier)].append(row)
        for tag in set(item.clip.tags) | set(item.clip.asset.creator_tags):
            groups[("tag", tag)].append(row)
    card = {t.code: t.per_minute for t in settings.RATE_CARD.video_tiers}
    cells = []
    for (dimension, key), rows in sorted(groups.items()):
        sales = len({r[0] for r in rows})
        creators = len({r[1] for r in rows})
        if sales < MIN_SALES or creators < MIN_CREATORS:
            continue  # too thin to publish
        rates = [r[2] for r in rows]
        cells.append(
            Cell(
                dimension=dimension,
                key=key,
                sales=sales,
                creators=creators,
                minutes=sum((r[3] for r in rows), Decimal(0)).quantize(CENT),
                median=Decimal(median(rates)).quantize(CENT),
                low=min(rates).quantize(CENT),
                high=max(rates).quantize(CENT),
                rate_card=card.get(key) if dimension == "tier" else None,
            )
        )
    return cells
