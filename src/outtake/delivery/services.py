"""Deliveries: build a paid license's package in the background, hand out expiring links."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outtake import __version__
from outtake.audit.services import latest_head, record
from outtake.core.privacy import public_metadata
from outtake.core.terms import ALL_PROTECTIONS, NOT_ALLOWED, USES, protection_texts
from outtake.delivery.index_columns import DESCRIPTIONS
from outtake.delivery.models import Delivery
from outtake.delivery.package import INDEX_SCHEMA, SampleSpec, write_index, write_samples
from outtake.market.models import License
from outtake.notices.services import notify_org
from outtake.provenance import eu_summary
from outtake.provenance.c2pa_sign import ORIGINAL_KEY, Signer, original_record
from outtake.provenance.contract import snapshot_fingerprint
from outtake.provenance.croissant import croissant
from outtake.provenance.documents import render_license_pdf
from outtake.provenance.odrl import build_policy
from outtake.provenance.pdfseal import seal_pdf
from outtake.provenance.signing import dumps_canonical, sign_detached
from outtake.provenance.transcode import PROFILES, STREAM_COPY
from outtake.provenance.xmp import RightsXmp, data_mining_value, model_release_status
from outtake.rights.claims import revoked_clip_ids
from outtake.rights.contracts import contract_pdf, license_document, odrl_policy
from outtake.rights.models import Release, RevocationNotice
from outtake.rights.releases import release_number, release_summary
from outtake.storage import get_store

log = logging.getLogger("outtake.delivery")
DOWNLOAD_SALT = "outtake.download"
FORMAT = "outtake-delivery/2"
INDEX = "index.parquet"
MANIFEST = "MANIFEST.sha256"
AUDIT_HEAD = "audit_head.json"
TAR = "application/x-tar"


class DeliveryError(ValueError):
    pass


def start_delivery(license: License) -> Delivery:
    """The license's next version (clips revoked since are left out and listed for deletion)."""
    return build_next_version(license, [])


def build_next_version(license: License, removed_clip_ids: list[str]) -> Delivery:
    """A new version without the given clips, nor any the rights app has revoked; its
    removals.json tells the buyer which sample ids to delete (earlier removals carry over)."""
    from outtake.delivery.tasks import build_delivery

    if not license.in_force:  # unpaid, or refunded or cancelled since
        raise DeliveryError("nothing is delivered before it is paid")
    last = license.deliveries.order_by("-version").first()
    before = set(last.removed_clip_ids) if last else set()
    removed = sorted({*before, *map(str, removed_clip_ids), *revoked_clip_ids(license)})
    delivery = Delivery.objects.create(
        license=license, version=(last.version + 1) if last else 1, removed_clip_ids=removed
    )
    if set(removed) != before:
        record(
            "delivery.removals",
            org=license.buyer,
            subject=delivery,
            data={"license": str(license.id), "version": delivery.version, "removed": removed},
        )
    transaction.on_commit(lambda: build_delivery(str(delivery.id)))
    return delivery


def choose_transcode_profile(user, license: License, profile: str) -> Delivery | None:
    """The buyer picks how video is delivered (stream copy or a transcode profile); a license
    already delivered gets its next version in that form."""
    if license.buyer_id != user.organization_id:
        raise PermissionError("not your license")
    if profile != STREAM_COPY and profile not in PROFILES:
        raise DeliveryError(f"profile must be one of {STREAM_COPY}, {', '.join(PROFILES)}")
    if profile == license.transcode_profile:
        return None
    License.objects.filter(pk=license.pk).update(transcode_profile=profile)
    license.transcode_profile = profile
    record(
        "license.transcode_profile",
        actor=user,
        org=license.buyer,
        subject=license,
        data={"profile": profile},
    )
    if not license.in_force or not license.deliveries.exists():
        return None
    return start_delivery(license)


def deliver_removals() -> list[Delivery]:
    """After revocations and removal requests: the next version of every delivered license
    whose latest version still contains a revoked clip (a periodic job runs this)."""
    started = []
    affected = (
        License.objects.filter(
            paid_at__isnull=False,
            deliveries__isnull=False,
            id__in=RevocationNotice.objects.values("license"),
        )
        .exclude(status__in=License.ENDED)
        .distinct()
    )
    for license in affected:
        last = license.deliveries.order_by("-version").first()
        if revoked_clip_ids(license) - set(last.removed_clip_ids):
            started.append(build_next_version(license, []))
    return started


def acknowledge_removals(user, delivery: Delivery) -> Delivery:
    """The buyer's receipt of a version's removals: recorded once, in the audit chain."""
    if delivery.license.buyer_id != user.organization_id:
        raise PermissionError("not your delivery")
    if not delivery.removed_clip_ids:
        raise DeliveryError("this version removes nothing")
    if delivery.removals_acknowledged_at is None:
        delivery.removals_acknowledged_at = timezone.now()
        delivery.removals_acknowledged_by = user
        delivery.save(update_fields=["removals_acknowledged_at", "removals_acknowledged_by"])
        record(
            "delivery.removals_acknowledged",
            actor=user,
            org=delivery.license.buyer,
            subject=delivery,
            data={"removed": delivery.removed_clip_ids},
        )
    return delivery


def active_releases(clip) -> list[Release]:
    """Signed, unrevoked releases covering a clip (the asset's, or this clip's own)."""
    return list(
        Release.objects.filter(
            Q(clip__isnull=True) | Q(clip=clip),
            asset_id=clip.asset_id,
            signed_at__isnull=False,
            revoked_at__isnull=True,
        ).order_by("pk")
    )


def _states(license: License, snapshot: dict) -> dict[str, dict]:
    """Per use: what this license grants for this clip (uses it does not license: not allowed)."""
    uses = snapshot["terms"]["uses"]
    return {
        code: uses[code] if code in license.uses else {"state": NOT_ALLOWED, "constraint": ""}
        for code in USES
    }


def _protections_text(snapshots: list[dict]) -> str:
    """The protections in force under any of these terms snapshots, in the words each pinned
    (the ones the license PDF and ODRL policy use)."""
    texts = dict.fromkeys(
        protection_texts(t)[code]
        for code in ALL_PROTECTIONS
        for t in snapshots
        if t.get("protections", {}).get(code)
    )
    return " ".join(texts)


def _usage_terms(license: License, states: dict[str, dict], terms: dict) -> str:
    granted = [
        USES[c].label + (f" (condition: {s['constraint']})" if s["constraint"] else "")
        for c, s in states.items()
        if s["state"] != NOT_ALLOWED
    ]
    return (
        f"Licensed through Outtake under license {license.id} for: {'; '.join(granted)}. "
        f"{_protections_text([terms])} See license.pdf and license.odrl.json."
    )


def _source(asset, tmp: Path) -> Path:
    store = get_store()
    local = store.local_path(asset.blob_key)
    if local is not None:
        return local
    return store.download(asset.blob_key, tmp / "originals" / f"{asset.id}{_ext(asset)}")


def _ext(asset) -> str:
    return Path(asset.blob_key).suffix.lower()


def _specs(license: License, delivery: Delivery, tmp: Path, odrl_sha256: str) -> list[SampleSpec]:
    specs = []
    profile = PROFILES.get(license.transcode_profile)
    items = license.items.select_related("clip__asset__owner").order_by("id")
    for item in items.exclude(clip_id__in=delivery.removed_clip_ids):
        clip, asset = item.clip, item.clip.asset
        terms = item.terms_snapshot["terms"]
        states = _states(license, item.terms_snapshot)
        people = release_summary(clip)
        release_ids = [release_number(r) for r in active_releases(clip)]
        labels = {
            "technical": public_metadata(
                asset.probe,
                precise_location=terms.get("precise_location", False),
            ),
            "shot": {
                "index": clip.index,
                "start_s": clip.start_s,
                "end_s": clip.end_s,
                "start_frame": clip.start_frame,
                "end_frame": clip.end_frame,
                "fps": clip.fps,
                "width": clip.width,
                "height": clip.height,
            },
            "quality": clip.quality,
            "problems": clip.problems,
            "tags": sorted(clip.tags),
            "creator_tags": sorted(asset.creator_tags),  # given by the creator, not found
            "tier": clip.tier,
            "people": {"release_status": people, "release_ids": release_ids},
        }
        if "speech" in clip.quality:
            labels["speech"] = clip.quality["speech"]
        provenance = {
            "clip_id": str(clip.id),
            "asset_id": str(asset.id),
            "creator": asset.owner.pseudonym,
            "original_sha256": asset.sha256,
            "pdq": clip.pdq,
            "license_id": str(license.id),
            "delivery_version": delivery.version,
            "terms_snapshot": item.terms_snapshot,
            "terms_id": snapshot_fingerprint(item.terms_snapshot["terms"]),
            "release_ids": release_ids,
            "granted_uses": states,
            "transcode_profile": license.transcode_profile,
        }
        if profile is not None:
            provenance["transcode"] = profile.as_dict()
        specs.append(
            SampleSpec(
                key=str(clip.id),
                kind=clip.kind,
                source=_source(asset, tmp),
                ext=_ext(asset),
                start_s=clip.start_s if clip.kind == "video" else 0.0,
                end_s=clip.end_s if clip.kind == "video" else None,
                labels=labels,
                provenance=provenance,
                states=states,
                xmp=RightsXmp(
                    data_mining=data_mining_value(states),
                    usage_terms=_usage_terms(license, states, item.terms_snapshot["terms"]),
                    web_statement=f"{settings.OUTTAKE_PUBLIC_URL}/licenses/{license.id}/",
                    licensor="Outtake",
                    creator=asset.owner.pseudonym,
                    model_release_status=model_release_status(people, release_ids),
                    model_release_ids=tuple(release_ids),
                ),
                license_assertion={
                    "license": str(license.id),
                    "clip": str(clip.id),
                    "creator": asset.owner.pseudonym,
                    "release_ids": release_ids,
                    "terms_id": provenance["terms_id"],
                    "odrl_policy_sha256": odrl_sha256,
                    ORIGINAL_KEY: original_record(
                        asset.sha256,
                        ((asset.authenticity or {}).get("c2pa") or {}).get("state"),
                        carry_manifest=terms.get("original_c2pa_manifest", False),
                    ),
                },
                transcode=profile,
            )
        )
    return specs


def _license_documents(license: License) -> tuple[bytes, bytes]:
    """(license.odrl.json, license.pdf): from the contract the buyer accepted, its latest
    signed PDF (co-signed by the buyer if they did, sealed now if the seal job has not run);
    for a license without one, rendered and sealed now from the license."""
    contract = getattr(license, "contract", None)
    if contract is not None:
        return dumps_canonical(odrl_policy(contract)), contract_pdf(contract)
    doc = license_document(license)
    pdf = seal_pdf(
        render_license_pdf(doc), settings.OUTTAKE_PKI_DIR, reason=f"Dataset license {license.id}"
    )
    return dumps_canonical(build_policy(doc, settings.OUTTAKE_PUBLIC_URL)), pdf


def _documents(
    license: License, delivery: Delivery, rows: list[dict], files: list[dict]
) -> dict[str, bytes]:
    videos = [r for r in rows if r["kind"] == "video"]
    creators = {r["creator"] for r in rows}
    today = timezone.localdate()
    delivered = license.items.select_related("clip__asset").exclude(
        clip_id__in=delivery.removed_clip_ids
    )
    acquired = sorted(_acquired(item.clip.asset) for item in delivered) or [today]
    eu = eu_summary.summary(
        license_id=str(license.id),
        delivery_id=str(delivery.id),
        version=delivery.version,
        date=today.isoformat(),
        videos=len(videos),
        video_seconds=sum(r["duration_s"] for r in videos),
        images=len(rows) - len(videos),
        tags={
            kind: [r["tags"] + r["creator_tags"] for r in rows if r["kind"] == kind]
            for kind in ("video", "image")
        },
        acquired=(acquired[0], acquired[-1]),
        creators=len(creators),
    )
    uses = ", ".join(USES[c].label for c in license.uses)
    head = latest_head()
    crois = croissant(
        name=f"outtake-license-{license.id}-v{delivery.version}",
        description=f"{len(rows)} licensed clips from {len(creators)} creator(s) for: {uses}.",
        url=f"{settings.OUTTAKE_PUBLIC_URL}/licenses/{license.id}/",
        license_url=f"{settings.OUTTAKE_PUBLIC_URL}/licenses/{license.id}/",
        version=f"{delivery.version}.0.0",
        date_published=today.isoformat(),
        files=files,
        index_file=INDEX,
        index_columns=[(f.name, str(f.type), DESCRIPTIONS.get(f.name, "")) for f in INDEX_SCHEMA],
        rai=_rai(license, uses, [acquired[0].isoformat(), acquired[-1].isoformat()]),
    )
    docs = {
        "croissant.json": dumps_canonical(crois),
        "eu_ai_act_summary.json": dumps_canonical(eu),
        "eu_ai_act_summary.md": eu_summary.markdown(eu).encode(),
        "DATASHEET.md": _datasheet(license, delivery, rows, uses, head).encode(),
        AUDIT_HEAD: dumps_canonical(head),
    }
    if delivery.removed_clip_ids:
        docs["removals.json"] = dumps_canonical(
            {
                "license_id": str(license.id),
                "version": delivery.version,
                "delete_sample_ids": delivery.removed_clip_ids,
                "why": "the creator revoked the license or a person shown asked to be removed",
                "acknowledge": f"POST /api/deliveries/{delivery.id}/acknowledge",
            }
        )
    return docs


def _preparation(license: License) -> tuple[str, str]:
    """(how clips were cut, what that did to pixels) for the documents."""
    profile = PROFILES.get(license.transcode_profile)
    if profile is None:
        return "Cut at shot boundaries by stream copy (no re-encode)", "No pixel or sample changes."
    return (
        f"Cut at shot boundaries and re-encoded to the buyer's profile {profile.name}",
        f"Re-encoded: {profile.label} (x264 CRF {profile.crf}, AAC audio).",
    )


# Capture times before this are camera clocks never set (1970, 1904 and the like), not footage.
_EARLIEST_CAPTURE = datetime(1990, 1, 1, tzinfo=UTC)


def _acquired(asset) -> date:
    """When an item was captured, as its file records it, else when it was uploaded. A capture
    time after the upload or before 1990 is a camera clock set wrong or never set: the upload
    date stands in for it, so one such file does not stretch the published acquisition period."""
    try:
        captured = datetime.fromisoformat(asset.probe["creation_time"])
    except (KeyError, TypeError, ValueError):  # no capture time recorded, or not a readable one
        return timezone.localdate(asset.created_at)
    # A time without a zone is UTC, as MP4/MOV store it.
    instant = captured if captured.tzinfo else captured.replace(tzinfo=UTC)
    if not _EARLIEST_CAPTURE <= instant <= asset.created_at:
        return timezone.localdate(asset.created_at)
    return captured.date()


def _rai(license: License, uses: str, collected: list[str]) -> dict:
    cut, manipulation = _preparation(license)
    return {
        "dataCollection": "Unpublished footage uploaded by its creators, who set per-use terms "
        "and attest they hold all rights.",
        "dataCollectionType": "Direct licensing from rightsholders",
        "dataCollectionRawData": "Originals stay with Outtake; clips are cut from them.",
        # mlcroissant reads this spelling (the RAI vocabulary writes "Timeframe"); ISO dates:
        # the earliest and latest capture (or upload) of the items.
        "dataCollectionTimeFrame": collected,
        "dataPreprocessingProtocol": f"{cut}; camera serials, file names and GPS removed; "
        "XMP and C2PA added.",
        "dataManipulationProtocol": manipulation,
        "machineAnnotationTools": "PyAV probe, PySceneDetect shots, PDQ hashes, OpenCV people "
        "detection, Silero VAD speech, RapidOCR text.",
        "personalSensitiveInformation": "Identifiable people only with a release; minors "
        "blocked; creators pseudonymous; no precise location.",
        "dataLimitations": "Unpublished footage from a limited set of creators.",
        "dataBiases": "Reflects what participating creators filmed.",
        "dataUseCases": f"Licensed uses: {uses}. Protections: "
        + _protections_text([i.terms_snapshot["terms"] for i in license.items.all()]),
        "dataReleaseMaintenancePlan": "Revocations lead to a new version with removals.json.",
    }


def _datasheet(
    license: License, delivery: Delivery, rows: list[dict], uses: str, head: dict
) -> str:
    videos = sum(1 for r in rows if r["kind"] == "video")
    checkpoint = head["checkpoint"]
    signed = (
        f"signed checkpoint at event {checkpoint['count']} ({checkpoint['at']}): "
        f"`{checkpoint['head']}`"
        if checkpoint
        else "no signed checkpoint yet"
    )
    return "\n".join(
        [
            f"# Datasheet: license {license.id}, version {delivery.version}",
            "",
            "## Motivation",
            "Training data licensed from its creators through Outtake.",
            "## Composition",
            f"{len(rows)} samples ({videos} video clips, {len(rows) - videos} photos) from "
            f"{len({r['creator'] for r in rows})} pseudonymous creator(s); WebDataset shards, "
            "one JSON of labels and provenance per sample; index.parquet lists them all.",
            "## Collection Process",
            "Uploaded by creators, who set per-use terms; see croissant.json (rai:*).",
            "## Preprocessing/Cleaning/Labeling",
            f"{_preparation(license)[0]}; private metadata removed; labels from automatic "
            "analysis.",
            "## Uses",
            f"Licensed: {uses}. See license.pdf and license.odrl.json.",
            "## Distribution",
            "To the licensee only; every media file carries C2PA and XMP naming the license.",
            "## Maintenance",
            "Outtake publishes new versions after revocations; removals.json lists deletions.",
            "## Audit chain head",
            f"Outtake's append-only audit chain stood at event {head['count']}, head "
            f"`{head['head']}`; {signed}. The same is in {AUDIT_HEAD}.",
            "",
        ]
    )


def build(delivery_id: str) -> Delivery:
    """Write shards (media signed straight into them), index and documents; store them."""
    delivery = Delivery.objects.select_related("license__buyer").get(pk=delivery_id)
    if delivery.status == Delivery.Status.READY:
        return delivery
    license = delivery.license
    if not license.in_force:  # unpaid, or refunded or cancelled since
        raise DeliveryError("nothing is delivered before it is paid")
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.BUILDING)
    settings.OUTTAKE_TMP_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=settings.OUTTAKE_TMP_DIR, prefix="delivery-"))
    try:
        manifest = _build_into(license, delivery, tmp)
    except Exception as exc:
        log.exception("delivery %s failed", delivery.id)
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, error=str(exc)[:2000]
        )
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _ready(delivery, manifest)


def _build_into(license: License, delivery: Delivery, tmp: Path) -> dict:
    out = tmp / "package"
    policy, pdf = _license_documents(license)
    specs = _specs(license, delivery, tmp, hashlib.sha256(policy).hexdigest())
    packaged = write_samples(
        specs,
        out,
        settings.OUTTAKE_SHARD_BYTES,
        Signer(settings.OUTTAKE_PKI_DIR),
        settings.OUTTAKE_PACKAGE_WORKERS,
        memory_budget=settings.OUTTAKE_PACKAGE_MEMORY_MB << 20,
    )
    rows, shards = packaged.rows, packaged.shards
    write_index(rows, out / INDEX)
    files = [
        {"path": f"shards/{s.name}", "size": s.size, "sha256": s.sha256, "encoding": TAR}
        for s in shards
    ]
    files.append(_file_entry(out, INDEX, "application/x-parquet"))
    docs = {"license.odrl.json": policy, "license.pdf": pdf}
    docs.update(_documents(license, delivery, rows, files))
    for name, data in docs.items():
        (out / name).write_bytes(data)
        files.append(_file_entry(out, name, ""))
    ordered = sorted(files, key=lambda f: f["path"])
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in ordered).encode()
    (out / MANIFEST).write_bytes(sums)
    signature = dumps_canonical(sign_detached(settings.OUTTAKE_PKI_DIR, sums))
    (out / f"{MANIFEST}.sig").write_bytes(signature)
    files += [_file_entry(out, MANIFEST, ""), _file_entry(out, f"{MANIFEST}.sig", "")]
    prefix = f"deliveries/{delivery.id}"
    store = get_store()
    for f in files:
        store.put_file(f"{prefix}/{f['path']}", out / f["path"], move=True)
    delivery.blob_key = prefix
    delivery.size_bytes = sum(f["size"] for f in files)
    delivery.sha256 = hashlib.sha256(sums).hexdigest()
    return {
        "format": FORMAT,
        "generator": f"outtake {__version__}",
        "license_id": str(license.id),
        "delivery_id": str(delivery.id),
        "version": delivery.version,
        "samples": len(rows),
        "removed_clip_ids": delivery.removed_clip_ids,
        # SHA-256 of each delivered media file → its sample (clip) id, for lineage.
        "delivered": {r["media_sha256"]: r["key"] for r in rows},
        "files": [{k: f[k] for k in ("path", "size", "sha256")} for f in files],
    }


def _file_entry(folder: Path, path: str, encoding: str) -> dict:
    data_path = folder / path
    h = hashlib.sha256()
    with open(data_path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return {
        "path": path,
        "size": data_path.stat().st_size,
        "sha256": h.hexdigest(),
        "encoding": encoding,
    }


@transaction.atomic
def _ready(delivery: Delivery, manifest: dict) -> Delivery:
    delivery.manifest = manifest
    delivery.status = Delivery.Status.READY
    delivery.ready_at = timezone.now()
    delivery.error = ""
    delivery.save()
    license = delivery.license
    # A license refunded while its package was built stays ended.
    License.objects.filter(pk=license.pk).exclude(status__in=License.ENDED).update(
        status=License.Status.DELIVERED
    )
    record(
        "delivery.ready",
        org=license.buyer,
        subject=delivery,
        data={
            "license": str(license.id),
            "version": delivery.version,
            "sha256": delivery.sha256,
            "samples": manifest["samples"],
        },
    )
    notify_org(
        license.buyer,
        "package.ready",
        "Your dataset package is ready",
        f"{manifest['samples']} sample(s), {delivery.size_bytes} bytes.",
        f"/licenses/{license.id}/",
        data={
            "license_id": str(license.id),
            "delivery_id": str(delivery.id),
            "version": delivery.version,
            "samples": manifest["samples"],
            "size_bytes": delivery.size_bytes,
            "sha256": delivery.sha256,
            "removed_clip_ids": delivery.removed_clip_ids,
            "links": f"/api/deliveries/{delivery.id}/link",
        },
    )
    return delivery


def deliveries_for(user):
    qs = Delivery.objects.select_related("license")
    return qs if user.is_reviewer else qs.filter(license__buyer=user.organization)


def download_links(user, delivery: Delivery) -> tuple[list[dict], datetime]:
    """Expiring signed URLs, one per file of the package ({"path", "size", "sha256", "url"}),
    each resumable with HTTP Range; a URL's token opens only its own file. Only the buyer (or
    a reviewer) may have them."""
    if not user.is_reviewer and delivery.license.buyer_id != user.organization_id:
        raise PermissionError("not your delivery")
    if delivery.status != Delivery.Status.READY or not delivery.license.in_force:
        raise DeliveryError("the package is not ready")
    files = delivery.manifest.get("files") or [  # a package built before shards: one tar
        {"path": delivery.filename, "size": delivery.size_bytes, "sha256": delivery.sha256}
    ]
    links = []
    for f in files:
        token = signing.dumps(
            {"d": str(delivery.id), "u": user.id, "p": f["path"]}, salt=DOWNLOAD_SALT
        )
        links.append({**f, "url": f"/download/{token}/{f['path']}"})
    expires = timezone.now() + timedelta(hours=settings.OUTTAKE_DOWNLOAD_TTL_HOURS)
    record("delivery.link", actor=user, org=delivery.license.buyer, subject=delivery)
    return links, expires


def delivery_for_token(token: str, path: str) -> Delivery:
    """The delivery a download token opens, if it was signed for this file and is unexpired."""
    try:
        data = signing.loads(
            token, salt=DOWNLOAD_SALT, max_age=timedelta(hours=settings.OUTTAKE_DOWNLOAD_TTL_HOURS)
        )
    except signing.SignatureExpired as exc:
        raise PermissionError("this download link has expired") from exc
    except signing.BadSignature as exc:
        raise PermissionError("this download link is not valid") from exc
    if data.get("p") != path:
        raise PermissionError("this download link is for another file")
    delivery = Delivery.objects.select_related("license").filter(pk=data["d"]).first()
    if (
        delivery is None
        or delivery.status != Delivery.Status.READY
        or not delivery.license.in_force
    ):
        raise PermissionError("this package is not available")
    return delivery


def package_file(delivery: Delivery, path: str) -> tuple[str, int, str]:
    """(blob key, size, sha256) of one file of a package; KeyError if it has no such file."""
    if not delivery.files:  # a package built before shards: one tar
        if path != delivery.filename:
            raise KeyError(path)
        return delivery.blob_key, delivery.size_bytes, delivery.sha256
    entry = delivery.files[path]
    return f"{delivery.blob_key}/{path}", entry["size"], entry["sha256"]
