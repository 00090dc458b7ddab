"""Write a delivery's samples into WebDataset shards (pure: no Django, so the bench runs it).

Per sample: the media (a clip cut by stream copy, or the photo) with Outtake's XMP and C2PA
manifest, and `<key>.json` with labels and provenance. A pool of worker processes packages the
samples, each writing its own shards (no media byte crosses a process); the parent numbers the
shards and sorts the index rows by key. The signing, which holds each file twice in memory, runs
within a memory budget shared by the workers (Schedule).
"""

from __future__ import annotations

import ctypes
import functools
import json
import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing.context import BaseContext
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
# After signing a file above this size a worker gives its free memory back to the kernel: below
# it the pages are kept for the next clip (_keep_freed_memory), above it keeping them would hold
# twice a rare huge clip for the rest of the delivery.
TRIM_ABOVE = 256 << 20
# What a worker process keeps: its signer, the delivery's samples and their schedule.
_worker: dict[str, Any] = {}


def _keep_freed_memory() -> None:
    """Let freed memory serve the next clip instead of going back to the kernel.

    c2pa-python copies each file it signs into two buffers of its size; glibc gives such large
    blocks their own mappings and unmaps them when freed, so every clip had the kernel fault in
    and zero fresh pages (49,000 faults per 100 MB clip, about half of the signing's CPU time).
    From the heap, and with the heap never trimmed, the pages stay for the next clip: the
    worker's memory stays at its largest clip's and does not grow (files above TRIM_ABOVE
    excepted, see _return_freed_memory).
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc; elsewhere left as it is
    if mallopt is not None:
        mallopt(_M_MMAP_MAX, 0)
        mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)


def _return_freed_memory() -> None:
    malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc
    if malloc_trim is not None:
        malloc_trim(0)


class Schedule:
    """The delivery's samples handed out to the workers one by one, and the memory budget of
    their signing, shared by all of them.

    c2pa-python holds two copies of each file it signs, so signing a file of n bytes is admitted
    only while 2n more bytes fit in the budget beside the files other workers are signing;
    workers are admitted in the order they asked. A file needing more than the whole budget is
    not refused but signed alone: admitted once nothing else is being signed, and nothing else is
    admitted until it is done. The numbers live in shared memory, guarded by one lock.
    """

    def __init__(self, count: int, budget: int, context: BaseContext) -> None:
        self.count, self.budget = count, budget
        self._lock = context.Condition()
        self._next, self._stopped = context.RawValue("q", 0), context.RawValue("b", 0)
        # Tickets in the order workers asked for memory, and the next one to be admitted.
        self._tickets, self._serving = context.RawValue("q", 0), context.RawValue("q", 0)
        self._signing, self._peak = context.RawValue("q", 0), context.RawValue("q", 0)

    def take(self) -> int | None:
        """The next sample's index; None once every one is taken or the delivery stopped."""
        with self._lock:
            if self._stopped.value or self._next.value >= self.count:
                return None
            self._next.value += 1
            return self._next.value - 1

    def admit(self, need: int) -> bool:
        """Wait for `need` bytes of the budget, in turn; False if the delivery stopped meanwhile."""
        with self._lock:
            ticket = self._tickets.value
            self._tickets.value += 1
            self._lock.wait_for(
                lambda: (
                    self._stopped.value
                    or (
                        self._serving.value == ticket
                        and (self._signing.value == 0 or self._signing.value + need <= self.budget)
                    )
                )
            )
            if self._stopped.value:
                return False
            self._serving.value += 1
            self._signing.value += need
            self._peak.value = max(self._peak.value, self._signing.value)
            self._lock.notify_all()  # the next in line may fit too
            return True

    def release(self, need: int) -> None:
        with self._lock:
            self._signing.value -= need
            self._lock.notify_all()

    def stop(self) -> None:
        """No more samples handed out or admitted: waiting workers return."""
        with self._lock:
            self._stopped.value = 1
            self._lock.notify_all()

    @property
    def peak(self) -> int:
        """The most bytes admitted to signing at once."""
        with self._lock:
            return self._peak.value


def _start_worker(signer: Signer, specs: list[SampleSpec], schedule: Schedule) -> None:
    _keep_freed_memory()
    _worker.update(signer=signer, specs=specs, schedule=schedule)


def _write_part(
    part: int, folder: Path, shard_bytes: int
) -> tuple[list[dict], list[Shard], int, float]:
    """A worker's share: samples from the schedule until it runs out (or another worker failed),
    into shards of its own; with the worker's process id and CPU seconds (it started for this
    delivery, and may have run an earlier share)."""
    schedule: Schedule = _worker["schedule"]
    try:
        rows, shards = _write_share(schedule, folder / "shards", shard_bytes, f"part{part}")
    except BaseException:
        schedule.stop()  # the others stop after their current sample
        raise
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return rows, shards, os.getpid(), usage.ru_utime + usage.ru_stime


def _write_share(
    schedule: Schedule, folder: Path, shard_bytes: int, prefix: str
) -> tuple[list[dict], list[Shard]]:
    writer = ShardWriter(folder, shard_bytes, prefix=prefix)
    spool = Spool()
    signer = _worker["signer"]
    rows = []
    while (index := schedule.take()) is not None:
        spec = _worker["specs"][index]
        ext = _out_ext(spec)
        source, edits, cut = _media(spec, spool)
        manifest = manifest_definition(
            title=f"{spec.key}{ext}",
            edits=edits,
            states=spec.states,
            license_assertion=spec.license_assertion,
        )
        need = 2 * spool.size
        if not schedule.admit(need):
            break
        try:
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
        finally:
            if spool.size > TRIM_ABOVE:
                _return_freed_memory()
            schedule.release(need)
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
    return rows, writer.close()


@dataclass(frozen=True)
class Packaged:
    rows: list[dict[str, Any]]  # index rows, sorted by key
    shards: list[Shard]  # numbered in the order of their first key
    worker_cpu_s: float  # CPU seconds of the worker processes
    peak_signing_bytes: int  # the most memory admitted to signing at once (Schedule)


def write_samples(
    specs: list[SampleSpec],
    folder: Path,
    shard_bytes: int,
    signer: Signer,
    workers: int,
    memory_budget: int,
) -> Packaged:
    """Write every sample into shards under folder/shards with up to `workers` processes, whose
    signing holds at most `memory_budget` bytes at once unless a single file needs more."""
    parts = max(1, min(workers, len(specs)))
    # forkserver: workers start from a clean process that has imported this module once, not
    # from a copy of a threaded parent (a web or queue worker).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    # Each worker gets the samples once as it starts and takes indexes from the schedule: no
    # queue whose feeder thread could be left blocked on a full pipe when a worker fails.
    schedule = Schedule(len(specs), memory_budget, context)
    with ProcessPoolExecutor(
        parts, mp_context=context, initializer=_start_worker, initargs=(signer, specs, schedule)
    ) as pool:
        futures = [pool.submit(_write_part, n, folder, shard_bytes) for n in range(parts)]
        # CPython 3.11's pool wakes its manager thread before it starts the worker a submit
        # needs, so the manager may watch every worker but the last and never notice that one
        # dying (the delivery would hang). One more submit, with every worker started, makes it
        # look again; it starts no worker and its result is not needed.
        pool.submit(os.getpid)
        # The parent never takes the schedule's lock while workers run: a worker that fails stops
        # the schedule itself, and when one dies abruptly (OOM killer, a crash in native code)
        # the pool kills the others, which may hold the lock or sleep on it forever.
        results = [f.result() for f in futures]
    rows = sorted((row for part_rows, *_ in results for row in part_rows), key=lambda r: r["key"])
    # Shards numbered in the order of their first sample, as one process would have written them.
    first_key: dict[str, str] = {}
    for row in rows:
        first_key.setdefault(row["shard"], row["key"])
    written = sorted(
        (s for _, part_shards, *_ in results for s in part_shards),
        key=lambda s: first_key[f"shards/{s.name}"],
    )
    names, shards = {}, []
    for n, shard in enumerate(written):
        name = f"shard-{n:06d}.tar"
        names[f"shards/{shard.name}"] = f"shards/{name}"
        shards.append(replace(shard, name=name, path=shard.path.rename(shard.path.with_name(name))))
    for row in rows:
        row["shard"] = names[row["shard"]]
    # A process that ran two shares reports its CPU time twice: count its last report once.
    cpu: dict[int, float] = {}
    for *_, pid, cpu_s in results:
        cpu[pid] = max(cpu_s, cpu.get(pid, 0.0))
    return Packaged(rows, shards, sum(cpu.values()), schedule.peak)


def write_index(rows: list[dict[str, Any]], path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), path)
