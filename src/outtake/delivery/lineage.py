"""Lineage: from a file found in the wild back to its clip, creator, terms, releases and every
license and delivery that contained it.

A file is found by SHA-256 (a delivered file, or an original) or by PDQ frame hashes (a
re-encoded, resized copy). Who asks decides what is shown: a buyer its own licenses, the
creator where their clips went (the buyer's name, or "an AI lab"), a reviewer everything.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from outtake.catalog.models import Clip
from outtake.dedup.services import find_matches
from outtake.delivery.models import Delivery
from outtake.delivery.services import active_releases
from outtake.market.models import LicenseItem
from outtake.media.dedup.matcher import Signature
from outtake.rights.contracts import reads_as_licensee
from outtake.rights.models import Release
from outtake.rights.releases import release_number

MAX_FRAMES = 2000  # frames one query may send (about half an hour at 1 fps)


class LineageError(ValueError):
    pass


def _hex(value: str, length: int, what: str) -> str:
    value = value.strip().lower()
    if len(value) != length or any(c not in "0123456789abcdef" for c in value):
        raise LineageError(f"{what} must be {length} hex digits")
    return value


def by_sha256(sha256: str) -> list[tuple[Clip, dict]]:
    """Clips whose delivered file, or whose original, has this SHA-256."""
    sha256 = _hex(sha256, 64, "sha256")
    found: dict[Any, dict] = {}
    for delivery in Delivery.objects.filter(manifest__delivered__has_key=sha256):
        found.setdefault(delivery.manifest["delivered"][sha256], {"by": "delivered sha256"})
    for clip_id in Clip.objects.filter(asset__sha256=sha256).values_list("id", flat=True):
        found.setdefault(str(clip_id), {"by": "original sha256"})
    clips = Clip.objects.filter(id__in=list(found)).select_related("asset__owner")
    return [(clip, found[str(clip.id)]) for clip in clips]


def parse_frames(frames: list) -> Signature:
    """A query's frames: PDQ hex strings in time order, or {"t", "hash"} / {"t", "h", "x"}
    objects (what `outtake hashes` writes; x marks an extra frame, media.dedup.hashes)."""
    if not frames:
        raise LineageError("send at least one PDQ hash")
    if len(frames) > MAX_FRAMES:
        raise LineageError(f"at most {MAX_FRAMES} frames per query")
    parsed = []
    for i, frame in enumerate(frames):
        if isinstance(frame, str):
            frame = {"t": i, "hash": frame}
        if not isinstance(frame, dict):
            raise LineageError("each frame is a hex PDQ hash or an object with one")
        variants = frame.get("h") or [frame.get("hash", "")]
        try:
            t = float(frame.get("t", i))
        except (TypeError, ValueError) as exc:
            raise LineageError("a frame's t must be a number of seconds") from exc
        hashes = [_hex(str(v), 64, "a PDQ hash") for v in variants]
        parsed.append({"t": t, "h": hashes, "x": bool(frame.get("x"))})
    return Signature.from_frames(parsed)


def by_pdq(signature: Signature) -> list[tuple[Clip, dict]]:
    """Clips whose frames the query's frames match in order, best first: the catalogue's
    search (dedup.find_matches), but also among clips that left the catalogue (withdrawn,
    revoked, held): a copy found in the wild is most often of one already sold."""
    found = find_matches(signature, among=Clip.objects.select_related("asset__owner"))
    return [
        (
            clip,
            {
                "by": "pdq",
                "coverage": round(match.coverage, 3),
                "mean_bits": round(match.mean_bits, 1),
            },
        )
        for clip, match in found
    ]


def _releases(clip: Clip) -> list[dict]:
    active = {r.pk for r in active_releases(clip)}
    covering = Release.objects.filter(Q(clip__isnull=True) | Q(clip=clip), asset_id=clip.asset_id)
    return [
        {
            "id": release_number(r),
            "method": r.method,
            "minor": r.minor,
            "signed_at": r.signed_at,
            "revoked_at": r.revoked_at,
            "active": r.pk in active,
        }
        for r in covering.order_by("pk")
        if r.signed_at is not None
    ]


def _deliveries(item: LicenseItem) -> list[dict]:
    clip_id = str(item.clip_id)
    out = []
    for d in item.license.deliveries.filter(status=Delivery.Status.READY).order_by("version"):
        delivered = {c: s for s, c in d.manifest.get("delivered", {}).items()}
        out.append(
            {
                "id": d.id,
                "version": d.version,
                "ready_at": d.ready_at,
                "contained": clip_id in delivered,
                "delivered_sha256": delivered.get(clip_id, ""),
                "removed": clip_id in d.removed_clip_ids,
                "removals_acknowledged_at": d.removals_acknowledged_at
                if clip_id in d.removed_clip_ids
                else None,
            }
        )
    return out


def _visible_items(user, clip: Clip):
    items = LicenseItem.objects.filter(clip=clip).select_related("license__buyer")
    if user.is_reviewer or clip.asset.owner_id == user.organization_id:
        return items.order_by("license__created_at")
    return items.filter(license__buyer=user.organization).order_by("license__created_at")


def _buyer_name(user, license) -> str:
    if reads_as_licensee(user, license):
        return license.buyer.name
    return license.buyer.name_for_creators


def describe(user, clip: Clip, evidence: dict) -> dict | None:
    """What this user may know of a clip's lineage; None when they may know nothing."""
    items = list(_visible_items(user, clip))
    is_owner = clip.asset.owner_id == user.organization_id
    if not (user.is_reviewer or is_owner or items):
        return None
    asset = clip.asset
    return {
        "match": evidence,
        "clip": {
            "id": clip.id,
            "kind": clip.kind,
            "index": clip.index,
            "start_s": clip.start_s,
            "end_s": clip.end_s,
        },
        "asset": {"id": asset.id, "sha256": asset.sha256, "uploaded_at": asset.created_at},
        "creator": asset.owner.pseudonym,
        "releases": _releases(clip),
        "licenses": [
            {
                "id": item.license_id,
                "buyer": _buyer_name(user, item.license),
                "uses": item.license.uses,
                "paid_at": item.license.paid_at,
                "terms_snapshot": item.terms_snapshot,
                "deliveries": _deliveries(item),
            }
            for item in items
        ],
    }


def lineage(user, found: list[tuple[Clip, dict]]) -> list[dict]:
    """The lineage of each found clip this user may see (an empty list: nothing to show)."""
    shown = (describe(user, clip, evidence) for clip, evidence in found)
    return [entry for entry in shown if entry is not None]
