"""What a creator's earnings page charts: earnings per month, minutes sold versus uploaded,
sales by tier and the clips that earned most, all read from the ledger and the licenses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from outtake.catalog.models import Clip
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Invoice, Posting
from outtake.market.models import LicenseItem


@dataclass
class EarningsOverview:
    months: list[str]  # "YYYY-MM", oldest first
    earned: list[Money]  # the creator's shares of sales less refunds, per month
    minutes_sold: list[float]
    minutes_uploaded: list[float]
    by_tier: list[tuple[str, Money]]  # gross sales per resolution tier, largest first
    top_clips: list[tuple[str, Money]]  # the creator's share per clip, largest first


def _months(now: datetime, count: int) -> list[str]:
    y, m = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _minutes(start_s: float, end_s: float | None) -> float:
    return max((end_s or start_s) - start_s, 0) / 60


def earnings_overview(
    org, currency: str = "USD", now: datetime | None = None, months: int = 12
) -> EarningsOverview:
    labels = _months(now or timezone.now(), months)
    first = datetime.fromisoformat(labels[0] + "-01").replace(tzinfo=UTC)
    earned: dict[str, int] = defaultdict(int)
    mine = [
        chart.creator_pending(org, currency),
        chart.creator_payable(org, currency),
        chart.creator_clawback(org, currency),
    ]
    for at, amount in Posting.objects.filter(
        account__in=mine, entry__kind__in=("sale", "refund", "void"), entry__at__gte=first
    ).values_list("entry__at", "amount_minor"):
        earned[f"{at:%Y-%m}"] -= amount
    uploaded: dict[str, float] = defaultdict(float)
    for at, start_s, end_s in Clip.objects.filter(
        asset__owner=org, kind="video", asset__created_at__gte=first
    ).values_list("asset__created_at", "start_s", "end_s"):
        uploaded[f"{at:%Y-%m}"] += _minutes(start_s, end_s)
    items = LicenseItem.objects.filter(creator=org, license__currency=currency).exclude(
        license__invoice__status__in=(Invoice.Status.REFUNDED, Invoice.Status.VOID)
    )
    sold: dict[str, float] = defaultdict(float)
    for at, start_s, end_s in items.filter(
        license__created_at__gte=first, clip__kind="video"
    ).values_list("license__created_at", "clip__start_s", "clip__end_s"):
        sold[f"{at:%Y-%m}"] += _minutes(start_s, end_s)
    tiers: dict[str, int] = defaultdict(int)
    clips: dict = defaultdict(int)
    names: dict = {}
    share = settings.RATE_CARD.creator_share
    for item in items.filter(license__invoice__isnull=False).select_related("clip__asset"):
        tiers[item.clip.tier or "other"] += item.price_minor
        clips[item.clip_id] += item.price_minor
        names[item.clip_id] = f"{item.clip.asset.original_filename} #{item.clip.index + 1}"
    top = sorted(clips.items(), key=lambda kv: (-kv[1], str(kv[0])))[:10]
    return EarningsOverview(
        months=labels,
        earned=[Money(earned[m], currency) for m in labels],
        minutes_sold=[round(sold[m], 2) for m in labels],
        minutes_uploaded=[round(uploaded[m], 2) for m in labels],
        by_tier=[
            (tier, Money(v, currency)) for tier, v in sorted(tiers.items(), key=lambda kv: -kv[1])
        ],
        # The creator's share of each clip's gross, at the published rate.
        top_clips=[(names[c], Money(gross, currency).times(share)) for c, gross in top],
    )
