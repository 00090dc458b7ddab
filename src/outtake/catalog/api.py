from datetime import datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from outtake.accounts.auth import scoped
from outtake.catalog import services
from outtake.catalog.models import Asset, Clip
from outtake.core.privacy import public_metadata
from outtake.market.services import available_clips

router = Router(tags=["catalog"])


class ClipOut(Schema):
    id: UUID
    index: int
    kind: str
    start_s: float
    end_s: float | None
    duration_s: float | None
    width: int
    height: int
    fps: float | None
    tags: list[str]
    problems: list[dict]
    pipeline_version: str
    sellable: bool
    unsellable_reason: str
    tier: str
    price_minor: int
    currency: str
    price_lines: list[dict]
    people: dict
    # Identifiable people are shown: releases will be required (rights issue).
    needs_release: bool
    preview_url: str | None

    @staticmethod
    def from_clip(c: Clip) -> "ClipOut":
        return ClipOut(
            id=c.id,
            index=c.index,
            kind=c.kind,
            start_s=c.start_s,
            end_s=c.end_s,
            duration_s=c.duration_s,
            width=c.width,
            height=c.height,
            fps=c.fps,
            tags=c.tags,
            problems=c.problems,
            pipeline_version=c.pipeline_version,
            sellable=c.sellable,
            unsellable_reason=c.unsellable_reason,
            tier=c.tier,
            price_minor=c.price_minor,
            currency=c.currency,
            price_lines=c.price_lines,
            people=c.people,
            needs_release=c.needs_release,
            preview_url=f"/previews/{c.id}.webp" if c.preview_key else None,
        )


class AssetOut(Schema):
    id: UUID
    filename: str
    status: str
    status_reason: str
    kind: str
    sha256: str
    size_bytes: int
    probe: dict
    creator_tags: list[str]
    thumbnail_url: str | None
    contact_sheet_url: str | None
    created_at: datetime
    clips: list[ClipOut]

    @staticmethod
    def from_asset(a: Asset) -> "AssetOut":
        return AssetOut(
            id=a.id,
            filename=a.original_filename,
            status=a.status,
            status_reason=a.status_reason,
            kind=a.kind,
            sha256=a.sha256,
            size_bytes=a.size_bytes,
            probe=a.probe,
            creator_tags=a.creator_tags,
            thumbnail_url=f"/thumbs/{a.id}.jpg" if a.thumbnail_key else None,
            contact_sheet_url=f"/sheets/{a.id}.jpg" if a.sheet_key else None,
            created_at=a.created_at,
            clips=[ClipOut.from_clip(c) for c in a.clips.all()],
        )


class CatalogClipOut(ClipOut):
    asset_id: UUID
    creator: str
    metadata: dict
    thumbnail_url: str | None


class KnownIn(Schema):
    sha256: list[str]


class KnownOut(Schema):
    known: list[str]


class TagsIn(Schema):
    tags: list[str]


@router.get("/assets", response=list[AssetOut], auth=scoped("read"))
def list_assets(request):
    qs = services.assets_of(request.auth).prefetch_related("clips")
    return [AssetOut.from_asset(a) for a in qs]


@router.get("/assets/{uuid:asset_id}", response=AssetOut, auth=scoped("read"))
def get_asset(request, asset_id: UUID):
    return AssetOut.from_asset(get_object_or_404(services.assets_of(request.auth), pk=asset_id))


@router.post("/assets/known", response=KnownOut, auth=scoped("upload"))
def known(request, payload: KnownIn):
    return KnownOut(known=services.known_hashes(request.auth, payload.sha256[:10000]))


@router.put("/assets/{uuid:asset_id}/tags", response=AssetOut, auth=scoped("upload"))
def set_tags(request, asset_id: UUID, payload: TagsIn):
    asset = get_object_or_404(services.assets_of(request.auth), pk=asset_id)
    return AssetOut.from_asset(services.set_creator_tags(request.auth, asset, payload.tags))


@router.get("/catalog", response=list[CatalogClipOut], auth=scoped("read"))
def catalog(request, limit: int = 100, offset: int = 0):
    """What a buyer can license: thumbnails and metadata, never an original."""
    qs = available_clips(request.auth.organization).order_by("-created_at")
    out = []
    for c in qs[offset : offset + min(limit, 500)]:
        base = ClipOut.from_clip(c).dict()
        out.append(
            CatalogClipOut(
                **base,
                asset_id=c.asset_id,
                creator=c.asset.owner.pseudonym,
                metadata=public_metadata(c.asset.probe),
                thumbnail_url=f"/thumbs/{c.asset_id}.jpg" if c.asset.thumbnail_key else None,
            )
        )
    return out
