"""Write a delivery's samples into WebDataset shards (pure: no Django, so the bench runs it).

Per sample: the media (a clip cut by stream copy, or the photo) with Outtake's XMP and C2PA
manifest, written straight into the shard, and `<key>.json` with labels and provenance.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from outtake.delivery.index_columns import LABEL_COLUMNS, label_columns
from outtake.provenance.c2pa_sign import MIME, Signer, manifest_definition
from outtake.provenance.cut import (
    VIDEO_FORMATS,
    clean_jpeg,
    clean_png,
    clean_webp,
    cut_video,
    to_png,
)
from outtake.provenance.shards import Shard, ShardWriter
from outtake.provenance.transcode import Profile, transcode_video
from outtake.provenance.xmp import RightsXmp, xmp_box

# A remuxed clip waits in memory up to this size before the signer reads it; longer ones spill.
SPOOL_BYTES = 256 << 20
INDEX_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("shard", pa.string()),
        ("media", pa.string()),
        ("media_offset", pa.int64()),
        ("media_size", pa.int64()),
        ("media_sha256", pa.string()),
        ("json", pa.string()),
        ("json_offset", pa.int64()),
        ("json_size", pa.int64()),
        ("json_sha256", pa.string()),
        ("clip_id", pa.string()),
        ("asset_id", pa.string()),
        ("creator", pa.string()),
        ("kind", pa.string()),
        ("duration_s", pa.float64()),
        ("original_sha256", pa.string()),
        ("license_id", pa.string()),
        *((name, kind) for name, kind, _ in LABEL_COLUMNS),
    ]
)


@dataclass
class SampleSpec:
    """What one licensed clip becomes in the package."""

    key: str  # the clip id: also the sample id a removal names
    kind: str  # "video" | "image"
    source: Path  # the original, on local disk
    ext: str  # the original's extension, lower case with the dot
    start_s: float
    end_s: float | None
    labels: dict[str, Any]
    provenance: dict[str, Any]
    states: dict[str, dict]  # per-use states the license grants (core.terms.USES codes)
    xmp: RightsXmp
    license_assertion: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    transcode: Profile | None = None  # None: stream copy


# Photos delivered as they are, only their metadata rewritten; any other still format becomes a
# lossless PNG.
_PHOTO_CLEANERS = {".jpg": clean_jpeg, ".jpeg": clean_jpeg, ".png": clean_png, ".webp": clean_webp}


def _out_ext(spec: SampleSpec) -> str:
    if spec.kind == "video":
        return spec.ext if spec.ext in VIDEO_FORMATS and not spec.transcode else ".mp4"
    if spec.ext not in _PHOTO_CLEANERS:
        return ".png"
    return ".jpg" if spec.ext == ".jpeg" else spec.ext


def _media(spec: SampleSpec) -> tuple[BinaryIO, list[dict], dict | None]:
    """The cleaned media with XMP (not yet signed), the edit actions, and the cut."""
    packet = spec.xmp.packet()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    if spec.kind == "video" and spec.transcode:
        profile = spec.transcode
        cut = transcode_video(str(spec.source), spec.start_s, spec.end_s, spool, profile)
        spool.seek(0, 2)
        spool.write(xmp_box(packet))
        action = {
            "action": "c2pa.transcoded",
            "description": (
                f"Re-encoded to the buyer's profile {profile.name} ({profile.label}): "
                f"{cut.clip_start_s:.6f}–{cut.clip_end_s:.6f} s of the original; container "
                "metadata, camera serials, file name and location removed; rights XMP added."
            ),
        }
        spool.seek(0)
        return spool, [action], cut.as_dict()
    if spec.kind == "video":
        cut = cut_video(str(spec.source), spec.start_s, spec.end_s, spool, _out_ext(spec))
        spool.seek(0, 2)
        spool.write(xmp_box(packet))
        action = {
            "action": "c2pa.edited",
            "description": (
                f"Cut by stream copy without re-encoding: {cut.file_start_s:.6f}–"
                f"{cut.file_end_s:.6f} s of the original (the clip starts {cut.trim_start_s:.6f} s"
                " into this file); container metadata, camera serials, file name and location "
                "removed; rights XMP added."
            ),
        }
        spool.seek(0)
        return spool, [action], cut.as_dict()
    data = spec.source.read_bytes()
    cleaner = _PHOTO_CLEANERS.get(spec.ext)
    spool.write(cleaner(data, packet) if cleaner else to_png(data, packet))
    spool.seek(0)
    if cleaner:
        action = {
            "action": "c2pa.edited.metadata",
            "description": "Exif, IPTC, comments and text chunks removed (camera serials, file "
            "name, location); rights XMP added; pixels untouched.",
        }
    else:
        action = {
            "action": "c2pa.transcoded",
            "description": f"Converted from {spec.ext} to lossless PNG (the same pixel values, "
            "turned upright) without the original's metadata; rights XMP added.",
        }
    return spool, [action], None


def write_samples(
    specs: list[SampleSpec], folder: Path, shard_bytes: int, signer: Signer
) -> tuple[list[dict[str, Any]], list[Shard]]:
    """Write every sample into shards under folder/shards; return index rows and the shards."""
    writer = ShardWriter(folder / "shards", shard_bytes)
    rows = []
    for spec in specs:
        ext = _out_ext(spec)
        source, edits, cut = _media(spec)
        manifest = manifest_definition(
            title=f"{spec.key}{ext}",
            edits=edits,
            states=spec.states,
            license_assertion=spec.license_assertion,
        )
        writer.start_sample()
        with source, open(spec.source, "rb") as original:
            sign = functools.partial(
                signer.sign,
                manifest,
                MIME[ext],
                source,
                original=original,
                original_mime=MIME.get(spec.ext, "application/octet-stream"),
                # The asset id, never the creator's file name.
                original_title=f"asset {spec.provenance['asset_id']}",
            )
            media = writer.add(f"{spec.key}{ext}", sign)
        provenance = {**spec.provenance, "delivered_sha256": media.sha256}
        if cut:
            provenance["cut"] = cut
        sample = {"key": spec.key, "labels": spec.labels, "provenance": provenance}
        meta = writer.add_bytes(
            f"{spec.key}.json", json.dumps(sample, sort_keys=True, ensure_ascii=False).encode()
        )
        rows.append(
            {
                "key": spec.key,
                "shard": f"shards/{media.shard}",
                "media": media.name,
                "media_offset": media.offset,
                "media_size": media.size,
                "media_sha256": media.sha256,
                "json": meta.name,
                "json_offset": meta.offset,
                "json_size": meta.size,
                "json_sha256": meta.sha256,
                "clip_id": spec.provenance["clip_id"],
                "asset_id": spec.provenance["asset_id"],
                "creator": spec.provenance["creator"],
                "kind": spec.kind,
                "duration_s": (cut or {}).get("clip_duration_s", 0.0),
                "original_sha256": spec.provenance["original_sha256"],
                "license_id": spec.provenance["license_id"],
                **label_columns(spec.labels, provenance),
            }
        )
    return rows, writer.close()


def write_index(rows: list[dict[str, Any]], path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), path)
