"""Push a delivery version into the buyer's own S3-compatible bucket (the use cases).

Every file of the version goes up by resumable multipart (storage.s3_multipart); each part is
recorded as it lands, so a push cut off — a dropped network, a killed worker — resumes where
it stopped, and files already in the bucket with the same size and SHA-256 are skipped.

Credentials: the lab's keys are kept encrypted (config.encryption, as tax ids are)
only while the push may still run. They are deleted when it completes, when it is cancelled,
and OUTTAKE_PUSH_KEEP_CREDENTIALS_HOURS after it last failed (an hourly job). A push without
keys uses Outtake's own account, which the lab grants access by a bucket policy.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outtake.audit.services import record
from outtake.config.encryption import decrypt, encrypt
from outtake.core.destinations import DestinationError, check_destination
from outtake.delivery.models import Delivery, Push, PushObject
from outtake.delivery.services import DeliveryError, package_file
from outtake.notices.services import notify_org
from outtake.storage import get_store
from outtake.storage.s3_multipart import (
    Progress,
    Target,
    UploadError,
    abort,
    already_there,
    client,
    describe,
    upload,
)

log = logging.getLogger("outtake.delivery.push")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z0-9-]{1,32}$")
PREFIX_MAX = Push._meta.get_field("prefix").max_length
ENDPOINT_MAX = Push._meta.get_field("endpoint").max_length
KEY_MAX = 256
OnPart = Callable[[str, int, int], None]


class PushError(DeliveryError):
    pass


def _seal(access_key_id: str, secret_access_key: str, session_token: str) -> str:
    data = {"id": access_key_id, "secret": secret_access_key, "token": session_token}
    return encrypt(json.dumps(data))


def _target(push: Push) -> Target:
    keys = {"id": "", "secret": "", "token": ""}
    if not push.bucket_policy:
        if not push.credentials:
            raise PushError("Outtake has deleted this push's keys: give them again to resume")
        try:
            keys = json.loads(decrypt(push.credentials))
        except ImproperlyConfigured as exc:
            raise PushError("the stored keys cannot be read: give them again") from exc
    return Target(
        bucket=push.bucket,
        prefix=push.prefix,
        endpoint=push.endpoint,
        region=push.region,
        access_key_id=keys["id"],
        secret_access_key=keys["secret"],
        session_token=keys["token"],
    )


def check_endpoint(endpoint: str) -> str:
    """Blank (AWS S3) or a public https address (core.destinations), given as scheme, host and
    port only; OUTTAKE_ALLOW_PRIVATE_DESTINATIONS lifts the public rule for development."""
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        return ""
    try:
        parts = check_destination(
            endpoint,
            allow_private=settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS,
            max_length=ENDPOINT_MAX,
        )
    except DestinationError as exc:
        raise PushError(f"the endpoint: {exc}") from exc
    if parts.query or parts.fragment:
        raise PushError("give the endpoint as scheme, host and port only")
    return endpoint


def _check_destination(bucket: str, prefix: str, region: str) -> tuple[str, str, str]:
    bucket, prefix, region = bucket.strip(), prefix.strip().strip("/"), region.strip().lower()
    if not BUCKET_RE.match(bucket) or ".." in bucket:
        raise PushError("a bucket name is 3–63 lower-case letters, digits, dots and hyphens")
    if len(prefix) > PREFIX_MAX or any(p in (".", "..") for p in prefix.split("/")):
        raise PushError(f"the prefix must be a path of at most {PREFIX_MAX} characters")
    if not REGION_RE.match(region or "us-east-1"):
        raise PushError("the region is a name like us-east-1")
    return bucket, prefix, region or "us-east-1"


def _check_keys(access_key_id: str, secret_access_key: str, session_token: str) -> bool:
    """True when keys were given; both or neither (a bucket policy)."""
    if bool(access_key_id) != bool(secret_access_key):
        raise PushError("give both the access key id and the secret key, or neither")
    if max(len(access_key_id), len(secret_access_key)) > KEY_MAX or len(session_token) > 4096:
        raise PushError("the keys are too long")
    return bool(access_key_id)


def _own(user, delivery: Delivery) -> None:
    if user.organization_id is None or delivery.license.buyer_id != user.organization_id:
        raise PermissionError("only the buyer pushes its own delivery")


def pushes_for(user):
    qs = Push.objects.select_related("delivery__license")
    if user.is_reviewer:
        return qs
    return qs.filter(delivery__license__buyer_id=user.organization_id)


def _paths(delivery: Delivery) -> list[str]:
    return sorted(delivery.files) if delivery.files else [delivery.filename]


def start_push(
    user,
    delivery: Delivery,
    *,
    bucket: str,
    prefix: str = "",
    endpoint: str = "",
    region: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
    session_token: str = "",
) -> Push:
    """Queue a push of every file of a ready delivery into the buyer's bucket."""
    from outtake.delivery.tasks import push_delivery

    _own(user, delivery)
    if delivery.status != Delivery.Status.READY or not delivery.license.in_force:
        raise PushError("the package is not ready")
    bucket, prefix, region = _check_destination(bucket, prefix, region)
    endpoint = check_endpoint(endpoint)
    access_key_id, secret_access_key = access_key_id.strip(), secret_access_key.strip()
    has_keys = _check_keys(access_key_id, secret_access_key, session_token.strip())
    with transaction.atomic():
        push = Push.objects.create(
            delivery=delivery,
            requested_by=user,
            endpoint=endpoint,
            region=region,
            bucket=bucket,
            prefix=prefix,
            bucket_policy=not has_keys,
            credentials=(
                _seal(access_key_id, secret_access_key, session_token.strip()) if has_keys else ""
            ),
        )
        objects = []
        for path in _paths(delivery):
            _, size, sha256 = package_file(delivery, path)
            objects.append(PushObject(push=push, path=path, size=size, sha256=sha256))
        PushObject.objects.bulk_create(objects)
        push.objects_total = len(objects)
        push.bytes_total = sum(o.size for o in objects)
        push.save(update_fields=["objects_total", "bytes_total"])
        record(
            "delivery.push_requested",
            actor=user,
            org=delivery.license.buyer,
            subject=push,
            data={
                "delivery": str(delivery.id),
                "version": delivery.version,
                "destination": push.destination,
                "endpoint": endpoint or "aws",
                "bucket_policy": push.bucket_policy,
                "objects": push.objects_total,
                "bytes": push.bytes_total,
            },
        )
    transaction.on_commit(lambda: push_delivery(str(push.id)))
    return push


def _stale(push: Push) -> bool:
    """A running push whose worker stopped reporting (killed, machine lost)."""
    last = push.started_at or push.created_at
    return timezone.now() - last > timedelta(minutes=settings.OUTTAKE_PUSH_STALE_MINUTES)


def resume_push(
    user,
    push: Push,
    *,
    access_key_id: str = "",
    secret_access_key: str = "",
    session_token: str = "",
) -> Push:
    """Queue a failed (or stalled) push again: finished files and parts are not sent again.
    Keys given here replace the stored ones (or the bucket policy)."""
    from outtake.delivery.tasks import push_delivery

    _own(user, push.delivery)
    if not push.delivery.license.in_force:
        raise PushError("this license has ended: its packages are no longer pushed")
    stalled = push.status == Push.Status.RUNNING and _stale(push)
    if push.status != Push.Status.FAILED and not stalled:
        raise PushError(f"a {push.status} push cannot be resumed")
    keys = (access_key_id.strip(), secret_access_key.strip(), session_token.strip())
    if _check_keys(*keys):
        push.credentials, push.bucket_policy = _seal(*keys), False
        push.credentials_deleted_at = None
    elif not push.bucket_policy and not push.credentials:
        raise PushError("Outtake has deleted this push's keys: give them again to resume")
    push.status, push.error = Push.Status.QUEUED, ""
    push.save(
        update_fields=["credentials", "bucket_policy", "credentials_deleted_at", "status", "error"]
    )
    record(
        "delivery.push_resumed",
        actor=user,
        org=push.delivery.license.buyer,
        subject=push,
        data={"attempts": push.attempts, "bytes_sent": push.bytes_sent},
    )
    transaction.on_commit(lambda: push_delivery(str(push.id)))
    return push


def run_push(push_id: str, on_part: OnPart | None = None) -> Push:
    """Upload what is still missing; record the outcome, tell the buyer, delete the keys."""
    push = Push.objects.select_related("delivery__license__buyer").get(pk=push_id)
    if push.status in (Push.Status.DONE, Push.Status.CANCELLED):
        return push
    if not push.delivery.license.in_force:  # refunded or cancelled since it was queued
        return _failed(push, "this license has ended: its packages are no longer pushed")
    Push.objects.filter(pk=push.pk).update(
        status=Push.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now()
    )
    try:
        _send(push, _target(push), on_part)
    except Exception as exc:  # every failure is recorded and the buyer told; a resume follows
        log.warning("push %s failed: %s", push.id, exc, exc_info=not isinstance(exc, UploadError))
        return _failed(push, describe(exc))
    return _done(push)


def _send(push: Push, target: Target, on_part: OnPart | None) -> None:
    s3, store = client(target), get_store()

    def counted(path: str, n: int, size: int) -> None:
        # The heartbeat too: a push that stops reporting can be resumed by its buyer.
        Push.objects.filter(pk=push.pk).update(
            bytes_sent=F("bytes_sent") + size, started_at=timezone.now()
        )
        if on_part is not None:
            on_part(path, n, size)

    for obj in push.files.filter(status=PushObject.Status.PENDING):
        blob_key, _, _ = package_file(push.delivery, obj.path)
        if not obj.upload_id and already_there(s3, target, obj.path, obj.size, obj.sha256):
            obj.status = PushObject.Status.SKIPPED
            obj.save(update_fields=["status"])
            Push.objects.filter(pk=push.pk).update(objects_skipped=F("objects_skipped") + 1)
            continue

        def save(progress: Progress, pk=obj.pk) -> None:
            PushObject.objects.filter(pk=pk).update(
                upload_id=progress.upload_id, parts=progress.parts
            )

        upload(
            s3,
            target,
            obj.path,
            size=obj.size,
            sha256=obj.sha256,
            read=lambda start, end, key=blob_key: store.iter_range(key, start, end),
            progress=Progress(obj.upload_id, list(obj.parts)),
            save=save,
            min_part=settings.OUTTAKE_PUSH_PART_BYTES,
            on_part=counted,
        )
        obj.status = PushObject.Status.UPLOADED
        obj.save(update_fields=["status"])
        Push.objects.filter(pk=push.pk).update(objects_done=F("objects_done") + 1)


def _forget_keys(push: Push) -> None:
    push.credentials = ""
    push.credentials_deleted_at = timezone.now()


@transaction.atomic
def _done(push: Push) -> Push:
    push.refresh_from_db()
    push.status, push.error, push.finished_at = Push.Status.DONE, "", timezone.now()
    _forget_keys(push)
    push.save()
    buyer = push.delivery.license.buyer
    record(
        "delivery.pushed",
        org=buyer,
        subject=push,
        data={
            "delivery": str(push.delivery_id),
            "version": push.delivery.version,
            "destination": push.destination,
            "endpoint": push.endpoint or "aws",
            "manifest_sha256": push.delivery.sha256,
            "objects": push.objects_total,
            "skipped": push.objects_skipped,
            "bytes": push.bytes_total,
            "bytes_sent": push.bytes_sent,
            "attempts": push.attempts,
            "credentials": "deleted",
        },
    )
    notify_org(
        buyer,
        "delivery.pushed",
        "Your dataset is in your bucket",
        f"Version {push.delivery.version}: {push.objects_total} file(s), {push.bytes_total} bytes "
        f"in {push.destination}. Check them with MANIFEST.sha256; Outtake deleted your keys.",
        f"/deliveries/{push.delivery_id}/push/",
        data={"push": str(push.id), "delivery": str(push.delivery_id)},
    )
    return push


@transaction.atomic
def _failed(push: Push, error: str) -> Push:
    push.refresh_from_db()
    push.status, push.error, push.finished_at = Push.Status.FAILED, error[:2000], timezone.now()
    push.save()
    buyer = push.delivery.license.buyer
    record(
        "delivery.push_failed",
        org=buyer,
        subject=push,
        data={
            "destination": push.destination,
            "error": push.error,
            "objects_done": push.objects_done,
            "bytes_sent": push.bytes_sent,
            "attempts": push.attempts,
        },
    )
    notify_org(
        buyer,
        "delivery.push_failed",
        "Pushing your dataset failed",
        f"{push.error} — resume it from the delivery page; finished files are not sent again.",
        f"/deliveries/{push.delivery_id}/push/",
        data={"push": str(push.id), "delivery": str(push.delivery_id)},
    )
    return push


def _abort_unfinished(push: Push) -> None:
    """Best effort: drop uploaded parts of unfinished files from the lab's bucket."""
    try:
        target = _target(push)
        s3 = client(target)
        for obj in push.files.filter(status=PushObject.Status.PENDING).exclude(upload_id=""):
            abort(s3, target, obj.path, obj.upload_id)
    except (UploadError, PushError, OSError) as exc:
        log.warning("push %s: could not drop unfinished uploads: %s", push.id, exc)


def cancel_push(user, push: Push) -> Push:
    _own(user, push.delivery)
    if push.status in (Push.Status.DONE, Push.Status.CANCELLED):
        raise PushError(f"a {push.status} push cannot be cancelled")
    if push.status == Push.Status.RUNNING and not _stale(push):
        raise PushError("the push is running; cancel it once it stops or fails")
    _abort_unfinished(push)
    push.status, push.finished_at = Push.Status.CANCELLED, timezone.now()
    _forget_keys(push)
    push.save()
    record("delivery.push_cancelled", actor=user, org=push.delivery.license.buyer, subject=push)
    return push


def forget_old_credentials() -> int:
    """Delete the keys of pushes that failed longer ago than the keep period; how many."""
    cutoff = timezone.now() - timedelta(hours=settings.OUTTAKE_PUSH_KEEP_CREDENTIALS_HOURS)
    count = 0
    for push in Push.objects.filter(status=Push.Status.FAILED, finished_at__lt=cutoff).exclude(
        credentials=""
    ):
        _abort_unfinished(push)
        _forget_keys(push)
        push.save(update_fields=["credentials", "credentials_deleted_at"])
        record("delivery.push_credentials_deleted", org=push.delivery.license.buyer, subject=push)
        count += 1
    return count
