"""Deliveries: build a paid license's package in the background, hand out expiring links."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from outtake import __version__
from outtake.audit.models import ChainHead
from outtake.audit.services import record
from outtake.core.privacy import public_metadata
from outtake.delivery.models import Delivery
from outtake.delivery.package import HashingWriter, PackageFile, write_package
from outtake.market.models import License
from outtake.notices.services import notify_org
from outtake.provenance.signing import dumps_canonical, sign_detached
from outtake.storage import get_store

log = logging.getLogger("outtake.delivery")
DOWNLOAD_SALT = "outtake.download"


class DeliveryError(ValueError):
    pass


def start_delivery(license: License) -> Delivery:
    from outtake.delivery.tasks import build_delivery

    if license.paid_at is None:
        raise DeliveryError("nothing is delivered before it is paid")
    last = license.deliveries.order_by("-version").first()
    delivery = Delivery.objects.create(license=license, version=(last.version + 1) if last else 1)
    transaction.on_commit(lambda: build_delivery(str(delivery.id)))
    return delivery


def _files(license: License) -> list[PackageFile]:
    store = get_store()
    files = []
    for item in license.items.select_related("clip__asset__owner").order_by("id"):
        clip, asset = item.clip, item.clip.asset
        ext = Path(asset.blob_key).suffix
        files.append(
            PackageFile(
                arcname=f"media/{clip.id}{ext}",
                size=store.size(asset.blob_key),
                chunks=store.iter_range(asset.blob_key),
                meta={
                    "clip_id": str(clip.id),
                    "asset_id": str(asset.id),
                    "creator": asset.owner.pseudonym,
                    "kind": clip.kind,
                    "start_s": clip.start_s,
                    "end_s": clip.end_s,
                    "original_sha256": asset.sha256,
                    "metadata": public_metadata(asset.probe),
                    "price_minor": item.price_minor,
                    "price_lines": item.price_lines,
                    "terms": item.terms_snapshot,
                },
            )
        )
    return files


def _manifest(license: License, delivery: Delivery, entries: list[dict]) -> dict:
    head = ChainHead.objects.filter(id=1).first()
    return {
        "format": "outtake-package/1",
        "generator": f"outtake {__version__}",
        "license_id": str(license.id),
        "delivery_id": str(delivery.id),
        "version": delivery.version,
        "buyer": license.buyer.pseudonym,
        "uses": license.uses,
        "exclusive": license.exclusive,
        "accepted_constraints": license.accepted_constraints,
        "total_minor": license.total_minor,
        "currency": license.currency,
        "audit_chain_head": head.hash if head else None,
        "created_at": timezone.now().isoformat(),
        "files": entries,
    }


def build(delivery_id: str) -> Delivery:
    """Write the package straight into a temp file while hashing, then store it."""
    delivery = Delivery.objects.select_related("license__buyer").get(pk=delivery_id)
    if delivery.status == Delivery.Status.READY:
        return delivery
    license = delivery.license
    if license.paid_at is None:
        raise DeliveryError("nothing is delivered before it is paid")
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.BUILDING)
    settings.OUTTAKE_TMP_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=settings.OUTTAKE_TMP_DIR, suffix=".tar")
    manifest: dict = {}

    def finish(entries: list[dict]) -> list[tuple[str, bytes]]:
        manifest.update(_manifest(license, delivery, entries))
        body = dumps_canonical(manifest)
        signature = sign_detached(settings.OUTTAKE_PKI_DIR, body)
        return [("manifest.json", body), ("manifest.json.sig", dumps_canonical(signature))]

    try:
        with os.fdopen(fd, "wb") as out:
            writer = HashingWriter(out)
            write_package(writer, _files(license), finish)
        delivery.sha256 = writer.sha256.hexdigest()
        delivery.size_bytes = writer.size
        delivery.blob_key = f"deliveries/{delivery.id}.tar"
        get_store().put_file(delivery.blob_key, Path(tmp), move=True)
    except Exception as exc:
        log.exception("delivery %s failed", delivery.id)
        Path(tmp).unlink(missing_ok=True)
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, error=str(exc)[:2000]
        )
        raise
    return _ready(delivery, manifest)


@transaction.atomic
def _ready(delivery: Delivery, manifest: dict) -> Delivery:
    delivery.manifest = manifest
    delivery.status = Delivery.Status.READY
    delivery.ready_at = timezone.now()
    delivery.error = ""
    delivery.save()
    license = delivery.license
    License.objects.filter(pk=license.pk).update(status=License.Status.DELIVERED)
    record(
        "delivery.ready",
        org=license.buyer,
        subject=delivery,
        data={
            "license": str(license.id),
            "version": delivery.version,
            "sha256": delivery.sha256,
            "files": len(manifest["files"]),
        },
    )
    notify_org(
        license.buyer,
        "package.ready",
        "Your dataset package is ready",
        f"{len(manifest['files'])} file(s), {delivery.size_bytes} bytes.",
        f"/licenses/{license.id}/",
    )
    return delivery


def deliveries_for(user):
    qs = Delivery.objects.select_related("license")
    return qs if user.is_reviewer else qs.filter(license__buyer=user.organization)


def download_token(user, delivery: Delivery) -> tuple[str, timezone.datetime]:
    """An expiring, signed link token for one delivery; only its buyer may have one."""
    if not user.is_reviewer and delivery.license.buyer_id != user.organization_id:
        raise PermissionError("not your delivery")
    if delivery.status != Delivery.Status.READY or delivery.license.paid_at is None:
        raise DeliveryError("the package is not ready")
    token = signing.dumps({"d": str(delivery.id), "u": user.id}, salt=DOWNLOAD_SALT)
    expires = timezone.now() + timedelta(hours=settings.OUTTAKE_DOWNLOAD_TTL_HOURS)
    record("delivery.link", actor=user, org=delivery.license.buyer, subject=delivery)
    return token, expires


def delivery_for_token(token: str) -> Delivery:
    try:
        data = signing.loads(
            token, salt=DOWNLOAD_SALT, max_age=timedelta(hours=settings.OUTTAKE_DOWNLOAD_TTL_HOURS)
        )
    except signing.SignatureExpired as exc:
        raise PermissionError("this download link has expired") from exc
    except signing.BadSignature as exc:
        raise PermissionError("this download link is not valid") from exc
    delivery = Delivery.objects.select_related("license").get(pk=data["d"])
    if delivery.status != Delivery.Status.READY or delivery.license.paid_at is None:
        raise PermissionError("this package is not available")
    return delivery
