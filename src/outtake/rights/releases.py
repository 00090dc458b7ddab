"""People and property in clips: identifiable people need a model release covering AI training
before a clip is sold, and a private place or an artwork the creator marks needs a property
release. A release is uploaded by the creator, or signed (and revocable) by the person or owner
through a link; minors need a guardian and stay unsellable unless the installation allows them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.audit.services import record
from outtake.core.terms import ALL_PROTECTIONS
from outtake.provenance.contract import ReleaseDocument
from outtake.provenance.documents import render_release_pdf
from outtake.provenance.pdfseal import seal_pdf
from outtake.rights.models import Release, Revocation
from outtake.storage import get_store

IDENTIFIABLE_TAG = "identifiable_people"
# Creator tags that mark an asset as showing property whose owner must release it.
PROPERTY_TAGS = {"private_place": "a private place", "artwork": "an artwork"}
PNG = b"\x89PNG\r\n\x1a\n"
MAX_UPLOAD = 20 * 1024 * 1024
UPLOAD_TYPES = {b"%PDF": "pdf", PNG[:4]: "png", b"\xff\xd8\xff": "jpg"}


class ReleaseError(ValueError):
    pass


def consent_text(kind: str = Release.Kind.MODEL) -> list[str]:
    """Exactly what a person (or a property's owner) consents to, shown on the signing page and
    kept with the release."""
    if kind == Release.Kind.PROPERTY:
        grant = (
            "Footage showing my property (the private place or artwork described above) may be "
            "licensed through Outtake to developers of AI systems for training, fine-tuning and "
            "evaluating machine-learning models; I own it or may grant this for its owner."
        )
    else:
        grant = (
            "Footage in which I appear may be licensed through Outtake to developers of AI "
            "systems for training, fine-tuning and evaluating machine-learning models."
        )
    return [
        grant,
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


def shown_property(clip) -> list[str]:
    """What property the creator marked the clip (or its asset) as showing."""
    tags = set(clip.tags or []) | set(clip.asset.creator_tags or [])
    return [text for tag, text in PROPERTY_TAGS.items() if tag in tags]


def _releases_of(clip) -> list[Release]:
    """Every release covering the clip (the whole asset's, or the clip's), in any state."""
    return list(Release.objects.filter(Q(clip__isnull=True) | Q(clip=clip), asset_id=clip.asset_id))


def _covering(releases: list[Release], kind: str = Release.Kind.MODEL) -> list[Release]:
    return [r for r in releases if r.kind == kind and r.active]


def _people_problem(clip, releases: list[Release]) -> str:
    # A release marked minor says a minor is shown, whatever the analysis found and whether
    # or not it was signed (or later revoked): blocked unless the installation allows minors.
    if any(r.minor for r in releases) and not settings.OUTTAKE_SELL_MINORS:
        return "a minor is shown (blocked by default)"
    if not shows_identifiable_people(clip):
        return ""
    active = _covering(releases)
    needed = max(1, int((clip.people or {}).get("identifiable", 0)))
    if len(active) < needed:
        return f"{needed - len(active)} identifiable person(s) without a model release"
    return ""


def unreleased_people(clip) -> int:
    """People shown, incidental ones too, beyond the model releases covering the clip: what a
    request asking for everyone's release cannot take."""
    people = clip.people or {}
    shown = int(people.get("identifiable", 0)) + int(people.get("incidental", 0))
    if shows_identifiable_people(clip):
        shown = max(shown, 1)
    return max(0, shown - len(_covering(_releases_of(clip))))


def _property_problem(clip, releases: list[Release]) -> str:
    shown = shown_property(clip)
    if shown and not _covering(releases, Release.Kind.PROPERTY):
        return f"{' and '.join(shown)} without a property release"
    return ""


def release_problem(clip, releases: list[Release] | None = None) -> str:
    """Why the people or the property in a clip keep it unsellable, or "". `releases`: those
    covering the clip, when the caller has loaded them already."""
    releases = _releases_of(clip) if releases is None else releases
    return _people_problem(clip, releases) or _property_problem(clip, releases)


def _json_has(field: str, value: str) -> Q:
    """A JSON list field holding this string (on the JSON text: SQLite and PostgreSQL alike);
    only narrows, release_problem decides."""
    return Q(**{f"{field}__icontains": f'"{value}"'})


def release_blocked(clips: QuerySet) -> set:
    """The ids of these clips that release_problem keeps out of sale, in a few queries: only
    clips flagged or tagged as showing people or property, or of an asset with a minor's
    release, can have a problem."""
    tags = (IDENTIFIABLE_TAG, *PROPERTY_TAGS)
    could = Q(needs_release=True) | Q(
        asset_id__in=Release.objects.filter(minor=True).values("asset")
    )
    for tag in tags:
        could |= _json_has("tags", tag) | _json_has("asset__creator_tags", tag)
    candidates = clips.filter(could)
    by_asset: dict = {}
    for release in Release.objects.filter(asset_id__in=candidates.values("asset_id")):
        by_asset.setdefault(release.asset_id, []).append(release)
    return {
        c.id
        for c in candidates.select_related("asset")
        if release_problem(
            c, [r for r in by_asset.get(c.asset_id, []) if r.clip_id in (None, c.id)]
        )
    }


def release_summary(clip) -> str:
    """What quotes and Schedule A say about the people (and any property) in a clip."""
    releases = _releases_of(clip)
    people = _people_problem(clip, releases) or (
        f"released ({len(_covering(releases))} person(s))"
        if shows_identifiable_people(clip)
        else "no identifiable people"
    )
    if not shown_property(clip):
        return people
    covering = _covering(releases, Release.Kind.PROPERTY)
    return f"{people}; " + (
        f"property released ({len(covering)})" if covering else _property_problem(clip, releases)
    )


def releases_of(user) -> QuerySet[Release]:
    return Release.objects.filter(asset__owner=user.organization).select_related("asset")


def _check(user, asset, person: str, minor: bool, guardian: str, kind: str) -> None:
    if asset.owner_id != user.organization_id:
        raise PermissionError("not your asset")
    if kind not in Release.Kind.values:
        raise ReleaseError(f"kind must be one of {', '.join(Release.Kind.values)}")
    if not person.strip():
        if kind == Release.Kind.PROPERTY:
            raise ReleaseError("describe the property and its owner (e.g. “the Lee house”)")
        raise ReleaseError("describe the person (e.g. “woman in the red coat”)")
    if minor and kind == Release.Kind.PROPERTY:
        raise ReleaseError("a property release has no minor; its owner signs")
    if minor and not guardian.strip():
        raise ReleaseError("a minor's release needs their guardian's name")


@transaction.atomic
def request_release(
    user,
    asset,
    *,
    person: str,
    clip=None,
    minor: bool = False,
    guardian_name: str = "",
    kind: str = Release.Kind.MODEL,
) -> Release:
    """A signing link for the creator to send to the person shown (or the property's owner)."""
    _check(user, asset, person, minor, guardian_name, kind)
    release = Release.objects.create(
        asset=asset,
        kind=kind,
        clip=clip,
        person=person.strip()[:200],
        method=Release.Method.SIGNED,
        minor=minor,
        guardian_name=guardian_name.strip()[:200],
        token=secrets.token_urlsafe(32),
        created_by=user,
    )
    record("release.requested", actor=user, org=asset.owner, subject=release, data={"kind": kind})
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
    kind: str = Release.Kind.MODEL,
) -> Release:
    """A release the person (or owner) signed on paper or elsewhere (PDF or image), on record
    now."""
    _check(user, asset, person, minor, guardian_name, kind)
    ext = next((ext for magic, ext in UPLOAD_TYPES.items() if data.startswith(magic)), None)
    if ext is None or len(data) > MAX_UPLOAD:
        raise ReleaseError("upload the release as a PDF, PNG or JPEG of at most 20 MB")
    token = secrets.token_urlsafe(32)
    key = f"releases/{asset.id}/{token[:16]}.{ext}"
    get_store().put_bytes(key, data)
    release = Release.objects.create(
        asset=asset,
        kind=kind,
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
        data={
            "kind": kind,
            "clip": str(clip.id) if clip else None,
            "minor": minor,
            "document": key,
        },
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
        data={
            "kind": release.kind,
            "name": release.signed_name,
            "date": signed_on.isoformat(),
            "text": consent_text(release.kind),
        },
    )
    from outtake.rights.tasks import seal_release  # tasks import this module

    transaction.on_commit(lambda: seal_release(release.pk))
    return release


@transaction.atomic
def revoke(token: str) -> Release:
    """The person withdraws consent from the same link: the clips leave sale and licensed
    buyers are told, as for a revocation."""
    from outtake.rights.claims import revoke_clips

    release = Release.objects.select_for_update().get(token=token)
    if release.revoked_at is not None:
        return release
    if release.signed_at is None:
        # Nothing was granted, so nothing is revoked: no licensee is told anything.
        raise ReleaseError("this release was never signed: there is no consent to revoke")
    release.revoked_at = timezone.now()
    release.save(update_fields=["revoked_at"])
    record("release.revoked", org=release.asset.owner, subject=release, data={})
    revoke_clips(
        release.asset,
        Revocation.Kind.RELEASE_REVOKED,
        reason=f"A {release.kind} release ({release.person}) was revoked.",
        clip_id=release.clip_id,
    )
    return release


def release_number(release: Release) -> str:
    """The id a release's PDF carries: derived from the link's token, which stays secret."""
    return "R-" + hashlib.sha256(release.token.encode()).hexdigest()[:16]


@transaction.atomic
def release_pdf(release: Release) -> bytes:
    """A release signed by link as a PDF sealed with Outtake's platform seal: rendered and
    sealed once (a job does it when the person signs), then the same stored bytes every time."""
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.sealed_key:
        return get_store().get_bytes(release.sealed_key)
    if release.method != Release.Method.SIGNED or release.signed_at is None:
        raise ReleaseError("only a release signed through its link has a sealed PDF")
    # Exactly the text the signer was shown, as recorded in the audit chain when they signed.
    signed = AuditEvent.objects.get(
        kind="release.signed", subject_type="rights.release", subject_id=str(release.pk)
    )
    doc = ReleaseDocument(
        release_id=release_number(release),
        kind=release.kind,
        person=release.person,
        signed_name=release.signed_name,
        signed_on=release.signed_on,
        signed_at=release.signed_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        asset_id=str(release.asset_id),
        clip_ids=(str(release.clip_id),) if release.clip_id else (),
        consent=tuple(signed.data["text"]),
        signature_png=get_store().get_bytes(release.document_key),
        guardian_name=release.guardian_name if release.minor else "",
    )
    pdf = render_release_pdf(doc)
    digest = hashlib.sha256(pdf).hexdigest()
    sealed = seal_pdf(
        pdf,
        settings.OUTTAKE_PKI_DIR,
        reason=f"{doc.kind.capitalize()} release {doc.release_id}; document SHA-256 {digest}",
    )
    key = f"releases/{release.asset_id}/{doc.release_id}.pdf"
    get_store().put_bytes(key, sealed)
    release.sealed_key, release.sealed_sha256 = key, hashlib.sha256(sealed).hexdigest()
    release.save(update_fields=["sealed_key", "sealed_sha256"])
    record(
        "release.sealed",
        org=release.asset.owner,
        subject=release,
        data={
            "release": doc.release_id,
            "document_sha256": digest,
            "sealed_sha256": release.sealed_sha256,
        },
    )
    return sealed
