from datetime import datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from outtake.accounts.auth import scoped
from outtake.delivery import services

router = Router(tags=["delivery"])


class DeliveryOut(Schema):
    id: UUID
    license_id: UUID
    version: int
    status: str
    size_bytes: int
    sha256: str
    error: str
    removed_clip_ids: list[str]
    removals_acknowledged_at: datetime | None
    created_at: datetime
    ready_at: datetime | None


class FileLink(Schema):
    path: str
    size: int
    sha256: str
    url: str


class LinkOut(Schema):
    url: str  # the package's MANIFEST.sha256 (or its single file, if built before shards)
    expires_at: datetime
    files: list[FileLink]


def _out(d) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        license_id=d.license_id,
        version=d.version,
        status=d.status,
        size_bytes=d.size_bytes,
        sha256=d.sha256,
        error=d.error,
        removed_clip_ids=d.removed_clip_ids,
        removals_acknowledged_at=d.removals_acknowledged_at,
        created_at=d.created_at,
        ready_at=d.ready_at,
    )


@router.get(
    "/licenses/{uuid:license_id}/deliveries", response=list[DeliveryOut], auth=scoped("read")
)
def list_deliveries(request, license_id: UUID):
    return [_out(d) for d in services.deliveries_for(request.auth).filter(license_id=license_id)]


@router.post(
    "/deliveries/{uuid:delivery_id}/link", response={201: LinkOut}, auth=scoped("download")
)
def link(request, delivery_id: UUID):
    delivery = get_object_or_404(services.deliveries_for(request.auth), pk=delivery_id)
    token, expires = services.download_token(request.auth, delivery)
    files = services.file_links(token, delivery)
    main = services.MANIFEST if files else delivery.filename
    return Status(201, LinkOut(url=f"/download/{token}/{main}", expires_at=expires, files=files))


@router.post(
    "/deliveries/{uuid:delivery_id}/acknowledge", response=DeliveryOut, auth=scoped("download")
)
def acknowledge(request, delivery_id: UUID):
    """The buyer confirms it deleted the samples this version's removals.json lists."""
    delivery = get_object_or_404(services.deliveries_for(request.auth), pk=delivery_id)
    try:
        return _out(services.acknowledge_removals(request.auth, delivery))
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from exc
    except services.DeliveryError as exc:
        raise HttpError(409, str(exc)) from exc
