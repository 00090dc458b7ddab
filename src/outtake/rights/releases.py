"""People in clips: identifiable people need a model release covering AI training before a clip
is sold. A release is uploaded by the creator, or signed (and revocable) by the person through a
link; minors need a guardian and stay unsellable unless the installation allows them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.terms import ALL_PROTECTIONS
from outtake.rights.models import Release, Revocation
from outtake.storage import get_store

IDENTIFIABLE_TAG = "identifiable_people"
PNG = b"\x89PNG\r\n\x1a\n"
MAX_UPLOAD = 20 * 1024 * 1024
UPLOAD_TYPES = {b"%PDF": "pdf", PNG[:4]: "png", b"\xff\xd8\xff": "jpg"}


class ReleaseError(ValueError):
    pass


def consent_text() -> list[str]:
    """Exactly what a person consents to, shown on the signing page and kept with the release."""
    return [
        "Footage in which I appear may be licensed through Outtake to developers of AI systems "
        "for training, fine-tuning and evaluating machine-learning models.",
        *ALL_PROTECTIONS.values(),
        "I may revoke this release at any time from the same link: the footage then leaves "
        "sale, and licensees are told to stop further use under their license's notice clause.",
    ]


def shows_identifiable_people(clip) -> bool:
    """The analysis' flag (DESIGN.md's size/duration rule, applied there) or the creator's
    declaration by tag."""
    return (
        clip.needs_release
        or IDENTIFIABLE_TAG in (clip.tags or [])
        or IDENTIFIABLE_TAG in (clip.asset.creator_tags or [])
    )


def _covering(clip) -> list[Release]:
    return list(
        Release.objects.filter(
            Q(clip__isnull=True) | Q(clip=clip),
            asset_id=clip.asset_id,
            signed_at__isnull=False,
            revoked_at__isnull=True,
        )
    )


def release_problem(clip) -> str:
    """Why the people in a clip keep it unsellable, or ""."""
    if not shows_identifiable_people(clip):
        return ""
    active = _covering(clip)
    if any(r.minor for r in active) and not settings.OUTTAKE_SELL_MINORS:
        return "a minor is shown (blocked by default)"
    needed = max(1, int((clip.people or {}).get("identifiable", 0)))
    if len(active) < needed:
        return f"{needed - len(active)} identifiable person(s) without a model release"
    return ""


def release_summary(clip) -> str:
    """What quotes and Schedule A say about the people in a clip."""
    if not shows_identifiable_people(clip):
        return "no identifiable people"
    problem = release_problem(clip)
    return problem or f"released ({len(_covering(clip))} person(s))"


def releases_of(user) -> QuerySet[Release]:
    return Release.objects.filter(asset__owner=user.organization).select_related("asset")


def _check(user, asset, person: str, minor: bool, guardian: str) -> None:
    if asset.owner_id != user.organization_id:
        raise PermissionError("not your asset")
    if not person.strip():
        raise ReleaseError("describe the person (e.g. “woman in the red coat”)")
    if minor and not guardian.strip():
        raise ReleaseError("a minor's release needs their guardian's name")


@transaction.atomic
def request_release(
    user, asset, *, person: str, clip=None, minor: bool = False, guardian_name: str = ""
) -> Release:
    """A signing link for the creator to send to the person shown."""
    _check(user, asset, person, minor, guardian_name)
    release = Release.objects.create(
        asset=asset,
        clip=clip,
        person=person.strip()[:200],
        method=Release.Method.SIGNED,
        minor=minor,
        guardian_name=guardian_name.strip()[:200],
        token=secrets.token_urlsafe(32),
        created_by=user,
    )
    record("release.requested", actor=user, org=asset.owner, subject=release, data={})
    return release


@transaction.atomic
def upload_release(
    user,
    asset,
    data: bytes,
    *,
    person: str,
    clip=None,
    minor: bool = False,
    guardian_name: str = "",
) -> Release:
    """A release the person signed on paper or elsewhere (PDF or image), on record now."""
    _check(user, asset, person, minor, guardian_name)
    kind = next((ext for magic, ext in UPLOAD_TYPES.items() if data.startswith(magic)), None)
    if kind is None or len(data) > MAX_UPLOAD:
        raise ReleaseError("upload the release as a PDF, PNG or JPEG of at most 20 MB")
    token = secrets.token_urlsafe(32)
    key = f"releases/{asset.id}/{token[:16]}.{kind}"
    get_store().put_bytes(key, data)
    release = Release.objects.create(
        asset=asset,
        clip=clip,
        person=person.strip()[:200],
        method=Release.Method.UPLOADED,
        minor=minor,
        guardian_name=guardian_name.strip()[:200],
        token=token,
        document_key=key,
        signed_at=timezone.now(),
        created_by=user,
    )
    record(
        "release.uploaded",
        actor=user,
        org=asset.owner,
        subject=release,
        data={"clip": str(clip.id) if clip else None, "minor": minor, "document": key},
    )
    return release


@transaction.atomic
def sign(token: str, *, name: str, signed_on: dt.date, signature_png: str) -> Release:
    """The person signs on the link's page: name, date and a drawn signature (a PNG data URL)."""
    release = Release.objects.select_for_update().get(token=token)
    if release.signed_at is not None or release.revoked_at is not None:
        raise ReleaseError("this release was already signed or revoked")
    if not name.strip():
        raise ReleaseError("write your name")
    try:
        png = base64.b64decode(signature_png.removeprefix("data:image/png;base64,"), validate=True)
    except (ValueError, binascii.Error):
        png = b""
    if not png.startswith(PNG) or len(png) > MAX_UPLOAD:
        raise ReleaseError("draw your signature")
    key = f"releases/{release.asset_id}/{token[:16]}-signature.png"
    get_store().put_bytes(key, png)
    release.signed_name, release.signed_on = name.strip()[:200], signed_on
    release.document_key, release.signed_at = key, timezone.now()
    release.save(update_fields=["signed_name", "signed_on", "document_key", "signed_at"])
    record(
        "release.signed",
        org=release.asset.owner,
        subject=release,
        data={"name": release.signed_name, "date": signed_on.isoformat(), "text": consent_text()},
    )
    return release


@transaction.atomic
def revoke(token: str) -> Release:
    """The person withdraws consent from the same link: the clips leave sale and licensed
    buyers are told, as for a revocation."""
    from outtake.rights.claims import revoke_clips

    release = Release.objects.select_for_update().get(token=token)
    if release.revoked_at is not None:
        return release
    release.revoked_at = timezone.now()
    release.save(update_fields=["revoked_at"])
    record("release.revoked", org=release.asset.owner, subject=release, data={})
    revoke_clips(
        release.asset,
        Revocation.Kind.RELEASE_REVOKED,
        reason=f"A model release ({release.person}) was revoked.",
        clip_id=release.clip_id,
    )
    return release
