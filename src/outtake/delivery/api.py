from datetime import datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

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
    created_at: datetime
    ready_at: datetime | None


class LinkOut(Schema):
    url: str
    expires_at: datetime


def _out(d) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        license_id=d.license_id,
        version=d.version,
        status=d.status,
        size_bytes=d.size_bytes,
        sha256=d.sha256,
        error=d.error,
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
    return Status(201, LinkOut(url=f"/download/{token}/{delivery.filename}", expires_at=expires))
