"""Rows for in-process tests where the media pipeline is not the subject."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from outtake.accounts.services import attest_upload
from outtake.catalog.models import Asset, Clip
from outtake.catalog.services import reprice
from outtake.market.models import DatasetRequest, License, LicenseItem, Quote


def ready_clip(
    creator,
    *,
    width=1920,
    height=1080,
    duration_s=60.0,
    fps=25.0,
    kind="video",
    tags=(),
    attested=True,
) -> Clip:
    """A ready asset with one priced clip, as ingest would leave it; its ownership attested on
    upload unless `attested=False`."""
    asset = Asset.objects.create(
        owner=creator.organization,
        uploaded_by=creator,
        original_filename="x.mp4",
        sha256=f"{Asset.objects.count():064x}",
        size_bytes=1000,
        blob_key="originals/none",
        kind=kind,
        status=Asset.Status.READY,
        creator_tags=list(tags),
        probe={
            "kind": kind,
            "width": width,
            "height": height,
            "duration_s": duration_s,
            "fps": fps,
            "camera_serial": "SN123",
            "gps": {"lat": 48.858370, "lon": 2.294481, "alt": 30.0},
        },
    )
    if attested:
        attest_upload(creator, asset)
    clip = Clip.objects.create(
        asset=asset, kind=kind, start_s=0, end_s=duration_s, width=width, height=height, fps=fps
    )
    return reprice(clip)


def license_for(buyer, items: list[tuple[Clip, int]]) -> License:
    """A license over clips at given prices, skipping the quote machinery."""
    request = DatasetRequest.objects.create(
        buyer=buyer.organization,
        created_by=buyer,
        title="t",
        budget_minor=10**9,
        minutes_wanted=Decimal(1),
        uses_needed=["ai_training"],
    )
    quote = Quote.objects.create(
        request=request,
        buyer=buyer.organization,
        rule="test",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    lic = License.objects.create(
        quote=quote,
        buyer=buyer.organization,
        total_minor=sum(p for _, p in items),
        currency="USD",
        uses=["ai_training"],
    )
    for clip, price in items:
        LicenseItem.objects.create(
            license=lic,
            clip=clip,
            creator=clip.asset.owner,
            price_minor=price,
            price_lines=[],
            terms_snapshot={},
        )
    return lic
