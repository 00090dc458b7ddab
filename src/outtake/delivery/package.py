"""Write a delivery's samples into WebDataset shards (pure: no Django, so the bench runs it).

Per sample: the media (a clip cut by stream copy, or the photo) with Outtake's XMP and C2PA
manifest, and `<key>.json` with labels and provenance. A pool of worker processes packages the
samples, each writing its own shards (no media byte crosses a process); the parent numbers the
shards and sorts the index rows by key.
"""

from __future__ import annotations

import ctypes
import functools
import json
import multiprocessing
import resource
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing.synchronize import Event
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
from outtake.provenance.spool import Spool
from outtake.provenance.transcode import Profile, transcode_video
from outtake.provenance.xmp import RightsXmp, xmp_box

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


def _media(spec: SampleSpec, spool: Spool) -> tuple[BinaryIO, list[dict], dict | None]:
    """The cleaned media with XMP (not yet signed) in spool, the edit actions, and the cut."""
    packet = spec.xmp.packet()
    spool.reset()
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


# glibc's mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
# What a worker process keeps: its signer, the queue of samples it takes work from, and the
# event that stops it early.
_worker: dict[str, Any] = {}


def _keep_freed_memory() -> None:
    """Let freed memory serve the next clip instead of going back to the kernel.

    c2pa-python copies each file it signs into two buffers of its size; glibc gives such large
    blocks their own mappings and unmaps them when freed, so every clip had the kernel fault in
    and zero fresh pages (49,000 faults per 100 MB clip, about half of the signing's CPU time).
    From the heap, and with the heap never trimmed, the pages stay for the next clip: the
    worker's memory stays at its largest clip's and does not grow.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc; elsewhere left as it is
    if mallopt is not None:
        mallopt(_M_MMAP_MAX, 0)
        mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)


def _start_worker(signer: Signer, queue: multiprocessing.Queue, stop: Event) -> None:
    _keep_freed_memory()
    _worker.update(signer=signer, queue=queue, stop=stop)


def _write_part(part: int, folder: Path, shard_bytes: int) -> tuple[list[dict], list[Shard], float]:
    """A worker's share: samples from the queue until it runs out (or another worker failed),
    into shards of its own; with the worker process's CPU seconds (it started for this
    delivery)."""
    writer = ShardWriter(folder / "shards", shard_bytes, prefix=f"part{part}")
    spool = Spool()
    signer = _worker["signer"]
    rows = []
    while not _worker["stop"].is_set() and (spec := _worker["queue"].get()) is not None:
        ext = _out_ext(spec)
        source, edits, cut = _media(spec, spool)
        manifest = manifest_definition(
            title=f"{spec.key}{ext}",
            edits=edits,
            states=spec.states,
            license_assertion=spec.license_assertion,
        )
        writer.start_sample()
        with open(spec.source, "rb") as original:
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
    spool.close()
    shards = writer.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return rows, shards, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Packaged:
    rows: list[dict[str, Any]]  # index rows, sorted by key
    shards: list[Shard]  # numbered in the order of their first key
    worker_cpu_s: float  # CPU seconds of the worker processes


def write_samples(
    specs: list[SampleSpec], folder: Path, shard_bytes: int, signer: Signer, workers: int
) -> Packaged:
    """Write every sample into shards under folder/shards with up to `workers` processes."""
    parts = max(1, min(workers, len(specs)))
    # forkserver: workers start from a clean process that has imported this module once, not
    # from a copy of a threaded parent (a web or queue worker).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    queue, stop = context.Queue(), context.Event()
    for spec in [*specs, *[None] * parts]:
        queue.put(spec)
    try:
        with ProcessPoolExecutor(
            parts, mp_context=context, initializer=_start_worker, initargs=(signer, queue, stop)
        ) as pool:
            futures = [pool.submit(_write_part, n, folder, shard_bytes) for n in range(parts)]
            wait(futures, return_when=FIRST_EXCEPTION)
            stop.set()  # all done, or one failed: the others stop after their current sample
            results = [f.result() for f in futures]
    finally:
        queue.close()
    rows = sorted((row for part_rows, _, _ in results for row in part_rows), key=lambda r: r["key"])
    # Shards numbered in the order of their first sample, as one process would have written them.
    first_key: dict[str, str] = {}
    for row in rows:
        first_key.setdefault(row["shard"], row["key"])
    written = sorted(
        (s for _, part_shards, _ in results for s in part_shards),
        key=lambda s: first_key[f"shards/{s.name}"],
    )
    names, shards = {}, []
    for n, shard in enumerate(written):
        name = f"shard-{n:06d}.tar"
        names[f"shards/{shard.name}"] = f"shards/{name}"
        shards.append(replace(shard, name=name, path=shard.path.rename(shard.path.with_name(name))))
    for row in rows:
        row["shard"] = names[row["shard"]]
    return Packaged(rows, shards, sum(cpu for _, _, cpu in results))


def write_index(rows: list[dict[str, Any]], path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), path)
