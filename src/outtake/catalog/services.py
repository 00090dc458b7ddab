"""Catalog: uploads become assets; ingest probes them into priced clips."""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, ProtectedError, Q, QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.catalog.models import Asset, Clip
from outtake.core.money import Money
from outtake.core.pricing import ClipFacts, derived_tags, price_clip
from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold
from outtake.media.analysis.vendor import checked_sidecar_facts, is_sidecar
from outtake.media.errors import TRANSIENT_CODES, MediaError
from outtake.media.hashing import sha256_file
from outtake.media.inspect import inspect_isolated
from outtake.notices.services import notify, notify_reviewers
from outtake.storage import get_store

log = logging.getLogger("outtake.catalog")

SUGGESTED_TAGS = (
    "drone",
    "aerial",
    "3d",
    "animation",
    "interview",
    "timelapse",
    "underwater",
    "night",
    "nature",
    "city",
    "people",
)
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class CatalogError(ValueError):
    pass


def _extension(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


@transaction.atomic
def register_upload(
    user,
    data_path: Path,
    filename: str,
    declared_sha256: str = "",
    upload_id: str | None = None,
    sidecar: str = "",
) -> Asset:
    """Take a completed upload into storage and queue its ingest (once per upload id).

    sidecar: the JSON facts `outtake upload` read from the video's sidecar files. A camera
    sidecar uploaded itself is refused by its name: the asset is rejected with the reason and
    its bytes are not kept."""
    from outtake.catalog.tasks import ingest_asset

    if not user.is_creator and not user.is_reviewer:
        raise PermissionError("only creators upload footage")
    if upload_id and (done := Asset.objects.filter(upload_id=upload_id).first()):
        return done
    asset = Asset(
        owner=user.organization,
        uploaded_by=user,
        original_filename=filename[:255],
        upload_id=upload_id,
        declared_sha256=(declared_sha256 or "").lower()[:64],
    )
    asset.size_bytes = data_path.stat().st_size
    facts, refused = _sidecar_facts(sidecar)
    asset.sidecar_facts = facts
    data = {"size_bytes": asset.size_bytes, "declared_sha256": asset.declared_sha256}
    if refused:
        data["sidecar_refused"] = refused
    if is_sidecar(filename):
        asset.save()
        record("asset.uploaded", actor=user, org=asset.owner, subject=asset, data=data)
        transaction.on_commit(lambda: data_path.unlink(missing_ok=True))
        suffix = Path(filename).suffix.upper()
        return _reject(
            asset,
            f"{filename} is a camera sidecar file ({suffix}: a proxy, thumbnail, telemetry or "
            "clip description), not footage; upload the video it belongs to, and `outtake "
            "upload` sends what the sidecar says about it along with it",
            code="sidecar",
        )
    asset.blob_key = f"originals/{asset.id}{_extension(filename)}"
    asset.save()
    # Moved last: if the move fails the row rolls back and the upload can be completed again.
    get_store().put_file(asset.blob_key, data_path, move=True)
    record("asset.uploaded", actor=user, org=asset.owner, subject=asset, data=data)
    transaction.on_commit(lambda: ingest_asset(str(asset.id)))
    return asset


def _sidecar_facts(text: str) -> tuple[dict, str]:
    """(checked facts, "") from an upload's sidecar metadata, or ({}, why they were refused):
    bad facts cost the upload its facts, never the footage."""
    if not text:
        return {}, ""
    try:
        return checked_sidecar_facts(json.loads(text)), ""
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        log.warning("sidecar facts refused: %s", exc)
        return {}, str(exc)[:200]


def local_original(asset: Asset, workdir: Path) -> Path:
    """The original as a local file: storage's own when local, else a download into workdir."""
    store = get_store()
    local = store.local_path(asset.blob_key)
    if local is not None:
        return local
    return store.download(asset.blob_key, workdir / Path(asset.blob_key).name)


def ingest(asset_id: str, *, last_attempt: bool = True) -> Asset:
    """Hash, probe (in a sandboxed child), thumbnail, and make the asset's clips.

    The file's own verdict (empty, damaged, unsupported…) rejects the asset with its reason.
    Any other failure may pass (the database, storage, a sandbox out of time or memory on a
    busy machine): it is raised again, so the task tries this asset again, unless this is the
    last attempt, which rejects the asset with a reason. Either way the asset ends ready or
    rejected, never processing for good.
    """
    asset = Asset.objects.select_related("owner", "uploaded_by").get(pk=asset_id)
    if asset.status != Asset.Status.PROCESSING:
        return asset
    try:
        return _ingest(asset)
    except Exception as exc:
        asset.refresh_from_db(fields=["status"])
        if asset.status != Asset.Status.PROCESSING:  # failed after it was done (on commit)
            log.exception("ingest of asset %s failed after it was %s", asset.id, asset.status)
            return asset
        if not last_attempt:
            log.warning("ingest of asset %s failed, to be tried again: %r", asset.id, exc)
            raise
        log.exception("ingest of asset %s failed on its last attempt", asset.id)
        if isinstance(exc, MediaError):  # out of time or memory every time
            return _reject(asset, exc.reason, code=exc.code)
        notify_reviewers(
            "asset.ingest_failed",
            f"Ingest failed for asset {asset.id}",
            "See the worker log.",
            f"/admin/catalog/asset/{asset.id}/change/",
        )
        return _reject(
            asset,
            "Outtake could not process this file because of an internal error, also when it "
            "tried again; a reviewer has been told and will look at it",
            code="internal",
        )


def _ingest(asset: Asset) -> Asset:
    settings.OUTTAKE_TMP_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=settings.OUTTAKE_TMP_DIR, prefix="ingest-"))
    try:
        path = local_original(asset, workdir)
        asset.sha256 = sha256_file(path)
        if asset.declared_sha256 and asset.declared_sha256 != asset.sha256:
            return _reject(
                asset,
                "the upload is corrupted: its SHA-256 differs from the one "
                "your computer computed; please upload it again",
            )
        twin = (
            Asset.objects.filter(owner=asset.owner, sha256=asset.sha256)
            .exclude(pk=asset.pk)
            .exclude(status=Asset.Status.REJECTED)
            .first()
        )
        if twin is not None:
            return _reject(asset, f"you already uploaded this file (asset {twin.id})")
        return _analyse(asset, path, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _analyse(asset: Asset, path: Path, workdir: Path, *, announce: bool = True) -> Asset:
    """Probe, analyse and thumbnail the file in a sandboxed child; make the asset's clips."""
    thumb = workdir / "thumb.jpg"
    previews = workdir / "previews"
    try:
        result = inspect_isolated(
            str(path),
            str(thumb),
            preview_dir=previews,
            max_pixels=settings.OUTTAKE_MAX_IMAGE_PIXELS,
            max_duration_s=settings.OUTTAKE_MAX_DURATION_S,
            min_shot_s=settings.OUTTAKE_MIN_SHOT_S,
            sidecar=asset.sidecar_facts or None,
            aerial_gps_altitude_m=settings.OUTTAKE_AERIAL_GPS_ALTITUDE_M,
            memory_mb=settings.OUTTAKE_MEDIA_MEMORY_MB,
            timeout_s=settings.OUTTAKE_MEDIA_TIMEOUT_S,
        )
    except MediaError as exc:
        if exc.code in TRANSIENT_CODES:
            raise  # may go through another time: the caller decides
        return _reject(asset, exc.reason, code=exc.code)
    asset.thumbnail_key = f"thumbs/{asset.id}.jpg"
    get_store().put_file(asset.thumbnail_key, thumb)
    return _make_ready(asset, result["probe"], result["analysis"], previews, announce=announce)


def analysis_version() -> str:
    """The pipeline_version ingest records now (from the steps' versions; no model loads)."""
    from outtake.media.analysis.analyse import analysis_version as version

    return version()


def is_analysed_by(asset: Asset, version: str) -> bool:
    """Whether every clip of the asset (and it has some) was made by that pipeline version."""
    return set(asset.clips.values_list("pipeline_version", flat=True)) == {version}


def stale_assets(version: str) -> QuerySet[Asset]:
    """Ready assets with a clip made by another pipeline version, or with none."""
    stale_clips = Clip.objects.exclude(pipeline_version=version).values("asset_id")
    return (
        Asset.objects.filter(status=Asset.Status.READY)
        .filter(Q(id__in=stale_clips) | Q(clips__isnull=True))
        .distinct()
        .order_by("created_at")
    )


def reanalyse(asset_id: str, *, force: bool = False) -> bool:
    """Analyse a ready asset again with the current pipeline and remake its clips; False when
    it was already analysed by this version (unless force) and nothing was done.

    Raises CatalogError for assets that are not ready, or whose clips are quoted or licensed
    (those clips must stay as they were sold). Any other failure propagates, so the task
    running it retries just this asset; the asset keeps its clips until the new ones are in.
    """
    asset = Asset.objects.select_related("owner", "uploaded_by").get(pk=asset_id)
    if asset.status != Asset.Status.READY:
        raise CatalogError(f"asset {asset.id} is {asset.status}, not ready: nothing to reanalyse")
    if not force and is_analysed_by(asset, analysis_version()):
        return False
    _refuse_if_clips_are_held(asset)
    settings.OUTTAKE_TMP_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=settings.OUTTAKE_TMP_DIR, prefix="reanalyse-"))
    try:
        _analyse(asset, local_original(asset, workdir), workdir, announce=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return True


def _refuse_if_clips_are_held(asset: Asset) -> None:
    """Try deleting the clips and roll back: quotes and licenses protect theirs. Duplicate
    holds against them protect them too, but those a reanalysis carries over."""
    try:
        with transaction.atomic():
            asset.clips.all().delete()
            transaction.set_rollback(True)
    except ProtectedError as exc:
        if all(isinstance(o, DuplicateHold) for o in exc.protected_objects):
            return
        raise CatalogError(
            f"asset {asset.id} has clips in quotes or licenses; they keep the analysis they "
            "were offered with"
        ) from exc


def _store_preview(key: str, path: Path) -> str:
    """Store a preview the analysis wrote, returning its key ("" if there is none)."""
    if not path.is_file():
        return ""
    get_store().put_file(key, path)
    return key


@transaction.atomic
def _make_ready(
    asset: Asset,
    probe: dict,
    analysis: dict,
    previews: Path | None = None,
    *,
    announce: bool = True,
) -> Asset:
    """Store the probe and make one clip per shot (a photo is one clip), each priced, with
    its watermarked preview and the asset's contact sheet when the analysis made them.

    Clips of an earlier analysis are replaced, duplicate holds on them moved to the new
    clips, and their previews deleted from storage once this commits. announce=False (a
    reanalysis) records the audit event but tells nobody.
    """
    from outtake.media.analysis.previews import SHEET_NAME

    old_blobs = set(asset.clips.exclude(preview_key="").values_list("preview_key", flat=True))
    old_blobs |= {asset.sheet_key} - {""}
    asset.probe = probe
    asset.authenticity = analysis.get("authenticity", {})
    if previews is not None:
        asset.sheet_key = _store_preview(f"sheets/{asset.id}.jpg", previews / SHEET_NAME)
    asset.kind = probe["kind"]
    asset.status = Asset.Status.READY
    asset.status_reason = ""
    asset.processed_at = timezone.now()
    asset.save()
    replaced = dedup.frames_of(asset)
    old = list(asset.clips.all())
    # Duplicate holds on and against the old clips are carried over to the new ones before
    # the old go (dedup.carry_holds): meanwhile the old clips step aside, to indexes above
    # any in use, for the new ones to take the shots' indexes.
    shots = [shot["index"] for shot in analysis["shots"]]
    aside = 1 + max([clip.index for clip in old] + shots, default=0)
    asset.clips.update(index=F("index") + aside)
    clips = [
        reprice(_make_clip(asset, probe, shot, analysis["pipeline_version"], previews))
        for shot in analysis["shots"]
    ]
    dedup.carry_holds(old, clips)
    Clip.objects.filter(pk__in=[clip.pk for clip in old]).delete()
    dedup.on_clips_made(asset, clips, analysis, replaced=replaced)
    stale = old_blobs - {c.preview_key for c in clips} - {asset.sheet_key}
    transaction.on_commit(lambda: _delete_blobs(stale))
    value = sum(c.price_minor for c in clips if c.sellable)
    sellable = sum(1 for c in clips if c.sellable)
    record(
        "asset.ready",
        org=asset.owner,
        subject=asset,
        data={
            "sha256": asset.sha256,
            "kind": asset.kind,
            "clips": len(clips),
            "pipeline_version": analysis["pipeline_version"],
        },
    )
    if not announce:
        return asset
    notify(
        [asset.uploaded_by],
        "asset.ready",
        f"{asset.original_filename} is ready",
        f"It is in the catalogue as {len(clips)} clip(s), {sellable} sellable, valued at "
        f"{Money(value, settings.RATE_CARD.currency)}.",
        f"/assets/{asset.id}/",
    )
    return asset


def _delete_blobs(keys: set[str]) -> None:
    store = get_store()
    for key in sorted(keys):
        store.delete(key)


def _make_clip(
    asset: Asset, probe: dict, shot: dict, pipeline_version: str, previews: Path | None
) -> Clip:
    is_video = probe["kind"] == "video"
    people = shot.get("people", {})
    overlay = shot.get("overlays")
    clip = Clip.objects.create(
        asset=asset,
        index=shot["index"],
        kind=probe["kind"],
        start_s=shot["start_s"] if is_video else 0.0,
        end_s=shot["end_s"] if is_video else None,
        start_frame=shot.get("start_frame") if is_video else None,
        end_frame=shot.get("end_frame") if is_video else None,
        width=probe.get("width") or 0,
        height=probe.get("height") or 0,
        fps=probe.get("fps"),
        tags=shot.get("tags", []),
        problems=shot.get("problems", []),
        quality={**shot.get("quality", {}), **({"overlay": overlay} if overlay else {})},
        pdq=shot.get("pdq", []),
        people=people,
        # Flagged only: the rights issue makes such clips unsellable until releases are in.
        needs_release=bool(people.get("identifiable")),
        pipeline_version=pipeline_version,
    )
    if previews is not None and shot.get("preview"):
        clip.preview_key = _store_preview(f"previews/{clip.id}.webp", previews / shot["preview"])
        clip.save(update_fields=["preview_key"])
    return clip


@transaction.atomic
def _reject(asset: Asset, reason: str, code: str = "rejected") -> Asset:
    asset.status = Asset.Status.REJECTED
    asset.status_reason = reason
    asset.processed_at = timezone.now()
    asset.save()
    record("asset.rejected", org=asset.owner, subject=asset, data={"reason": reason, "code": code})
    notify(
        [asset.uploaded_by],
        "asset.rejected",
        f"{asset.original_filename} was not accepted",
        reason,
        f"/assets/{asset.id}/",
    )
    return asset


@transaction.atomic
def reject_by_reviewer(asset: Asset, reviewer, reason: str) -> Asset:
    if not reason.strip():
        raise CatalogError("a rejection needs a reason the creator can read")
    asset.clips.update(sellable=False, unsellable_reason=reason)
    record(
        "asset.rejected_by_reviewer",
        actor=reviewer,
        org=asset.owner,
        subject=asset,
        data={"reason": reason},
    )
    return _reject(asset, reason, code="reviewer")


def clip_facts(clip: Clip) -> ClipFacts:
    asset = clip.asset
    return ClipFacts(
        kind=clip.kind,
        width=clip.width,
        height=clip.height,
        duration_s=clip.duration_s,
        fps=clip.fps,
        color_transfer=asset.probe.get("color_transfer"),
        tags=frozenset(clip.tags) | frozenset(asset.creator_tags),
        problems=tuple(clip.problems),
    )


def reprice(clip: Clip) -> Clip:
    facts = clip_facts(clip)
    price = price_clip(facts, settings.RATE_CARD)
    clip.tags = sorted(set(clip.tags) | derived_tags(facts))
    clip.tier = price.tier
    clip.price_minor = price.total.minor
    clip.currency = price.total.currency
    clip.price_lines = [line.as_dict() for line in price.lines]
    clip.sellable = price.sellable and clip.asset.status == Asset.Status.READY
    clip.unsellable_reason = "; ".join(price.reasons)
    clip.save()
    return clip


def normalise_tags(tags: list[str]) -> list[str]:
    clean = sorted({t.strip().lower().replace(" ", "-") for t in tags if t and t.strip()})
    bad = [t for t in clean if not TAG_RE.match(t)]
    if bad:
        raise CatalogError(f"tags may use letters, digits, - and _ (max 32): {', '.join(bad)}")
    return clean


@transaction.atomic
def set_creator_tags(user, asset: Asset, tags: list[str]) -> Asset:
    if asset.owner_id != user.organization_id:
        raise PermissionError("not your asset")
    asset.creator_tags = normalise_tags(tags)
    asset.save(update_fields=["creator_tags"])
    for clip in asset.clips.all():
        reprice(clip)
    record(
        "asset.tags",
        actor=user,
        org=asset.owner,
        subject=asset,
        data={"creator_tags": asset.creator_tags},
    )
    return asset


def assets_of(user) -> QuerySet[Asset]:
    """A creator sees only their organization's assets; reviewers see all."""
    if user.is_reviewer:
        return Asset.objects.all()
    return Asset.objects.filter(owner=user.organization)


def known_hashes(user, hashes: list[str]) -> list[str]:
    wanted = {h.lower() for h in hashes if isinstance(h, str)}
    mine = assets_of(user).exclude(status=Asset.Status.REJECTED)
    done = mine.filter(sha256__in=wanted).values_list("sha256", flat=True)
    # Still being ingested: trust the hash the uploading client declared.
    pending = mine.filter(declared_sha256__in=wanted, status=Asset.Status.PROCESSING)
    return sorted(set(done) | set(pending.values_list("declared_sha256", flat=True)))
