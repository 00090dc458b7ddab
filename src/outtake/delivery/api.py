from datetime import datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from outtake.accounts.auth import scoped
from outtake.delivery import lineage, services
from outtake.delivery import push as push_service
from outtake.market.services import licenses_of
from outtake.provenance import transcode

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
    links, expires = services.download_links(request.auth, delivery)
    (main,) = [f for f in links if f["path"] in (services.MANIFEST, delivery.filename)]
    files = links if delivery.files else []
    return Status(201, LinkOut(url=main["url"], expires_at=expires, files=files))


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


class PushIn(Schema):
    """Where to push: the lab's bucket, and its keys (or none: a bucket policy that grants
    Outtake's account). Keys are deleted once the push completes."""

    bucket: str
    prefix: str = ""
    endpoint: str = ""  # blank: AWS S3
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""


class PushKeysIn(Schema):
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""


class PushOut(Schema):
    id: UUID
    delivery_id: UUID
    destination: str
    endpoint: str
    bucket_policy: bool
    status: str
    objects_total: int
    objects_done: int
    objects_skipped: int
    bytes_total: int
    bytes_sent: int
    attempts: int
    error: str
    credentials_kept: bool
    created_at: datetime
    finished_at: datetime | None


def _push_out(p) -> PushOut:
    return PushOut(
        id=p.id,
        delivery_id=p.delivery_id,
        destination=p.destination,
        endpoint=p.endpoint,
        bucket_policy=p.bucket_policy,
        status=p.status,
        objects_total=p.objects_total,
        objects_done=p.objects_done,
        objects_skipped=p.objects_skipped,
        bytes_total=p.bytes_total,
        bytes_sent=p.bytes_sent,
        attempts=p.attempts,
        error=p.error,
        credentials_kept=bool(p.credentials),
        created_at=p.created_at,
        finished_at=p.finished_at,
    )


@router.post(
    "/deliveries/{uuid:delivery_id}/pushes", response={201: PushOut}, auth=scoped("download")
)
def create_push(request, delivery_id: UUID, body: PushIn):
    """Push every file of this version into the lab's S3-compatible bucket (in the background)."""
    delivery = get_object_or_404(services.deliveries_for(request.auth), pk=delivery_id)
    push = push_service.start_push(request.auth, delivery, **body.dict())
    return Status(201, _push_out(push))


@router.get("/deliveries/{uuid:delivery_id}/pushes", response=list[PushOut], auth=scoped("read"))
def list_pushes(request, delivery_id: UUID):
    pushes = push_service.pushes_for(request.auth).filter(delivery_id=delivery_id)
    return [_push_out(p) for p in pushes]


@router.get("/pushes/{uuid:push_id}", response=PushOut, auth=scoped("read"))
def get_push(request, push_id: UUID):
    return _push_out(get_object_or_404(push_service.pushes_for(request.auth), pk=push_id))


@router.post("/pushes/{uuid:push_id}/resume", response=PushOut, auth=scoped("download"))
def resume_push(request, push_id: UUID, body: PushKeysIn):
    """Resume a failed or stalled push; parts already stored are not sent again."""
    push = get_object_or_404(push_service.pushes_for(request.auth), pk=push_id)
    return _push_out(push_service.resume_push(request.auth, push, **body.dict()))


@router.post("/pushes/{uuid:push_id}/cancel", response=PushOut, auth=scoped("download"))
def cancel_push(request, push_id: UUID):
    """Give a push up: unfinished uploads are dropped from the bucket and the keys deleted."""
    push = get_object_or_404(push_service.pushes_for(request.auth), pk=push_id)
    return _push_out(push_service.cancel_push(request.auth, push))


class LineageMatch(Schema):
    by: str
    coverage: float | None = None
    mean_bits: float | None = None


class LineageClip(Schema):
    id: UUID
    kind: str
    index: int
    start_s: float
    end_s: float


class LineageAsset(Schema):
    id: UUID
    sha256: str
    uploaded_at: datetime


class LineageRelease(Schema):
    id: str
    method: str
    minor: bool
    signed_at: datetime | None
    revoked_at: datetime | None
    active: bool


class LineageDelivery(Schema):
    id: UUID
    version: int
    ready_at: datetime | None
    contained: bool
    delivered_sha256: str
    removed: bool
    removals_acknowledged_at: datetime | None


class LineageLicense(Schema):
    id: UUID
    buyer: str  # the buyer's name, or "an AI lab" to creators if the buyer asked
    uses: list[str]
    paid_at: datetime | None
    terms_snapshot: dict
    deliveries: list[LineageDelivery]


class LineageOut(Schema):
    match: LineageMatch
    clip: LineageClip
    asset: LineageAsset
    creator: str
    releases: list[LineageRelease]
    licenses: list[LineageLicense]


class LineageIn(Schema):
    frames: list  # PDQ hex strings in time order, or {"t", "hash"} / {"t", "h"} objects


def _lineage(request, found) -> list[dict]:
    results = lineage.lineage(request.auth, found)
    if not results:
        raise HttpError(404, "no clip you may see matches")
    return results


@router.get("/lineage", response=list[LineageOut], auth=scoped("read"))
def lineage_lookup(request, sha256: str = "", pdq: str = ""):
    """Where a file came from: by SHA-256 (a delivered file or an original) or by PDQ frame
    hashes (comma-separated, in time order) of a re-encoded copy."""
    try:
        if sha256:
            return _lineage(request, lineage.by_sha256(sha256))
        if pdq:
            return _lineage(request, lineage.by_pdq(lineage.parse_frames(pdq.split(","))))
    except lineage.LineageError as exc:
        raise HttpError(400, str(exc)) from exc
    raise HttpError(400, "give sha256 or pdq")


@router.post("/lineage", response=list[LineageOut], auth=scoped("read"))
def lineage_by_frames(request, body: LineageIn):
    """Lineage of a video by its frames' PDQ hashes (e.g. from `outtake hashes`)."""
    try:
        signature = lineage.parse_frames(body.frames)
    except lineage.LineageError as exc:
        raise HttpError(400, str(exc)) from exc
    return _lineage(request, lineage.by_pdq(signature))


class ProfileOut(Schema):
    name: str
    label: str


class ProfileIn(Schema):
    profile: str


class ProfileChosen(Schema):
    license_id: UUID
    transcode_profile: str
    next_delivery: DeliveryOut | None


@router.get("/delivery-profiles", response=list[ProfileOut], auth=scoped("read"))
def delivery_profiles(request):
    """How video can be delivered: stream copy (default) or a transcode profile."""
    return [ProfileOut(name=name, label=label) for name, label in transcode.CHOICES]


@router.post(
    "/licenses/{uuid:license_id}/transcode-profile", response=ProfileChosen, auth=scoped("buy")
)
def choose_profile(request, license_id: UUID, body: ProfileIn):
    """Choose how this license's video is delivered; a delivered license gets a new version."""
    license = get_object_or_404(licenses_of(request.auth), pk=license_id)
    try:
        delivery = services.choose_transcode_profile(request.auth, license, body.profile)
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from exc
    except services.DeliveryError as exc:
        raise HttpError(400, str(exc)) from exc
    return ProfileChosen(
        license_id=license.id,
        transcode_profile=license.transcode_profile,
        next_delivery=_out(delivery) if delivery else None,
    )
