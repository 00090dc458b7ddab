"""The local archive scanner: what a folder of footage is worth, before uploading any of it.

Each file goes through the same analysis as ingest, in a sandboxed child (a bad file costs its
own result, not the scan), several at a time. Values come from the default rate card, so no
server or Django is needed. Progress is kept in a state file keyed by path, size and mtime,
written after every file, so an interrupted scan resumes where it stopped.

Near-duplicates inside the folder (a re-encode, an export, a sub-clip of another file) are
grouped with the catalogue's matcher over the dedup frame hashes the analysis computes: each
group is shown once, under its most valuable file, and its value is counted once.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from outtake.core.pricing import ClipFacts, RateCard, load_rate_card, price_clip
from outtake.media.errors import TRANSIENT_CODES, MediaError
from outtake.media.files import media_files
from outtake.media.sandbox import run_isolated

STATE_NAME = ".outtake-scan.json"
# 2: entries keep their dedup frame hashes for grouping; 3: ten hash variants a frame; 4: 54
STATE_VERSION = 4
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".mts", ".m2ts", ".mxf", ".webm")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".webp", ".dng")
MEDIA_SUFFIXES = frozenset(VIDEO_SUFFIXES + PHOTO_SUFFIXES)
SHEET_WIDTH = 480  # the contact sheet inlined in the report


def find_media(directory: Path) -> list[Path]:
    """Footage and photos under directory (media_files): files with a media suffix, or
    MP4/QuickTime files under another name (Insta360 .insv, GoPro .360)."""
    return [
        path
        for path in media_files(directory)
        if path.suffix.lower() in MEDIA_SUFFIXES or _is_iso_media(path)
    ]


def _is_iso_media(path: Path) -> bool:
    """Whether the file starts with an ISO base media (MP4, QuickTime) "ftyp" box."""
    try:
        with path.open("rb") as file:
            return file.read(8)[4:8] == b"ftyp"
    except OSError:
        return False


def analyse_file(path: str) -> dict[str, Any]:
    """In the sandboxed child: the analysis of one file, cut down to what the report shows."""
    import tempfile

    from PIL import Image

    from outtake.media.analysis.analyse import analyse
    from outtake.media.analysis.previews import SHEET_NAME
    from outtake.media.authenticity import annotate

    with tempfile.TemporaryDirectory(prefix="outtake-scan-") as previews:
        result = analyse(path, preview_dir=previews)
        annotate(result, path, result["probe"])  # a file that says it is AI-generated is worth 0
        sheet = Path(previews, SHEET_NAME)
        thumbnail = None
        if sheet.exists():
            with Image.open(sheet) as image:
                image.thumbnail((SHEET_WIDTH, SHEET_WIDTH * 4))
                out = Path(previews, "small.jpg")
                image.save(out, "JPEG", quality=70)
            thumbnail = "data:image/jpeg;base64," + base64.b64encode(out.read_bytes()).decode()
    info = result["probe"]
    keys = ("kind", "duration_s", "width", "height", "fps", "color_transfer", "video_codec")
    return {
        "probe": {k: info.get(k) for k in keys},
        "pipeline_version": result["pipeline_version"],
        "shots": [
            {
                "start_s": shot["start_s"],
                "end_s": shot["end_s"],
                "tags": shot.get("tags", []),
                "problems": shot.get("problems", []),
                "identifiable": shot.get("people", {}).get("identifiable", 0),
            }
            for shot in result["shots"]
        ],
        "frames": [  # x marks an extra frame (media.dedup.hashes)
            {key: frame[key] for key in ("t", "h", "x") if key in frame}
            for shot in result["shots"]
            for frame in shot.get("dedup", [])
        ],
        "thumbnail": thumbnail,
    }


def value(analysis: dict[str, Any], card: RateCard) -> list[dict[str, Any]]:
    """Each clip of an analysed file with its tier, price and whether it is sellable."""
    info = analysis["probe"]
    clips = []
    for shot in analysis["shots"]:
        video = info["kind"] == "video"
        facts = ClipFacts(
            kind=info["kind"],
            width=info.get("width") or 0,
            height=info.get("height") or 0,
            duration_s=shot["end_s"] - shot["start_s"] if video else None,
            fps=info.get("fps"),
            color_transfer=info.get("color_transfer"),
            tags=frozenset(shot["tags"]),
            problems=tuple(shot["problems"]),
        )
        price = price_clip(facts, card)
        clips.append(
            {
                **shot,
                "tier": price.tier,
                "sellable": price.sellable,
                "value_minor": price.total.minor if price.sellable else 0,
                "reasons": price.reasons,
            }
        )
    return clips


class ScanState:
    """Finished files, keyed by path, saved after each one (atomically: a kill loses none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("version") == STATE_VERSION:
                self.files = saved["files"]

    def done(self, file: Path) -> dict[str, Any] | None:
        entry = self.files.get(str(file.resolve()))
        stat = file.stat()
        if not entry or (entry["size_bytes"], entry["mtime_ns"]) != (
            stat.st_size,
            stat.st_mtime_ns,
        ):
            return None
        # Out of time or memory is tried again: the limits may be raised, and a scan killed
        # mid-file can record its killed child as out of memory just before it dies.
        return None if entry.get("code") in TRANSIENT_CODES else entry

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.files[entry["path"]] = entry
            partial = self.path.with_name(self.path.name + ".part")
            partial.write_text(json.dumps({"version": STATE_VERSION, "files": self.files}))
            os.replace(partial, self.path)


def _scan_one(path: Path, card: RateCard, memory_mb: int, timeout_s: float) -> dict[str, Any]:
    stat = path.stat()
    entry: dict[str, Any] = {
        "path": str(path.resolve()),
        "size_bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    try:
        analysis = run_isolated(
            "outtake.media.scan:analyse_file",
            entry["path"],
            memory_mb=memory_mb,
            timeout_s=timeout_s,
        )
    except MediaError as error:
        return {**entry, "analysed_at": time.time(), "error": error.reason, "code": error.code}
    clips = value(analysis, card)
    return {
        **entry,
        "analysed_at": time.time(),
        **analysis["probe"],
        "pipeline_version": analysis["pipeline_version"],
        "thumbnail": analysis["thumbnail"],
        "frames": analysis["frames"],
        "clips": clips,
        "tags": sorted({t for c in clips for t in c["tags"]}),
        "problems": sorted({p["reason"] for c in clips for p in c["problems"]}),
        "people_needing_releases": max((c["identifiable"] for c in clips), default=0),
        "value_minor": sum(c["value_minor"] for c in clips),
    }


def scan(
    directory: Path,
    *,
    state_path: Path | None = None,
    jobs: int | None = None,
    card: RateCard | None = None,
    on_start: Callable[[list[Path], int], None] | None = None,
    on_file: Callable[[dict[str, Any], bool], None] | None = None,
    memory_mb: int = 2048,
    timeout_s: float = 3600,
) -> dict[str, Any]:
    """Scan directory; the report (files, totals) as a JSON-serialisable dict.

    on_start(files to analyse, files already done) and on_file(entry, resumed) report progress.
    """
    directory = Path(directory)
    card = card or load_rate_card()
    state = ScanState(state_path or directory / STATE_NAME)
    files = find_media(directory)
    entries: dict[str, dict[str, Any]] = {}
    todo = []
    for path in files:
        done = state.done(path)
        if done is None:
            todo.append(path)
        else:
            entries[done["path"]] = done
    if on_start:
        on_start(todo, len(entries))
    for entry in entries.values():
        if on_file:
            on_file(entry, True)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        # Each worker thread waits on its own sandboxed child process: the real parallelism.
        futures = [pool.submit(_scan_one, path, card, memory_mb, timeout_s) for path in todo]
        for future in as_completed(futures):
            entry = future.result()
            state.record(entry)
            entries[entry["path"]] = entry
            if on_file:
                on_file(entry, False)
    ordered = [entries[str(p.resolve())] for p in files]
    grouped = mark_near_duplicates(ordered)
    report = totals([{k: v for k, v in e.items() if k != "frames"} for e in grouped])
    return {"directory": str(directory.resolve()), "currency": card.currency, **report}


def mark_near_duplicates(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the entries, each near-duplicate of another file marked "duplicate_of" the
    path of its group's representative: the group's most valuable file (then the longest,
    then the largest, likely the least re-encoded; then the first found)."""
    from outtake.media.dedup.groups import group_near_duplicates
    from outtake.media.dedup.matcher import Signature

    out = [{k: v for k, v in e.items() if k != "duplicate_of"} for e in entries]
    by_path = {e["path"]: e for e in out}
    signatures = {
        e["path"]: Signature.from_frames(e["frames"], key=e["path"]) for e in out if e.get("frames")
    }
    for group in group_near_duplicates(signatures):
        members = [by_path[str(path)] for path in group]
        best = max(
            members,
            key=lambda e: (e.get("value_minor", 0), e.get("duration_s") or 0, e["size_bytes"]),
        )
        for member in members:
            if member is not best:
                member["duplicate_of"] = best["path"]
    return out


def totals(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-file entries and the archive's totals: value, minutes and value by tier, with each
    group of near-duplicates counted once (its members marked "duplicate_of" are left out)."""
    tiers: dict[str, dict[str, float]] = {}
    groups: dict[str, list[str]] = {}
    for entry in entries:
        if entry.get("duplicate_of"):
            groups.setdefault(entry["duplicate_of"], []).append(entry["path"])
    counted = [e for e in entries if not e.get("duplicate_of")]
    for entry in counted:
        for clip in entry.get("clips", []):
            tier = tiers.setdefault(clip["tier"], {"minutes": 0.0, "clips": 0, "value_minor": 0})
            tier["minutes"] += (clip["end_s"] - clip["start_s"]) / 60
            tier["clips"] += 1
            tier["value_minor"] += clip["value_minor"]
    return {
        "files": entries,
        "failed": sum("error" in e for e in entries),
        "minutes": sum((e.get("duration_s") or 0) for e in counted if e.get("kind") == "video")
        / 60,
        "value_minor": sum(e.get("value_minor", 0) for e in counted),
        "people_needing_releases": sum(e.get("people_needing_releases", 0) for e in counted),
        "groups": [
            {"representative": rep, "near_duplicates": dups} for rep, dups in groups.items()
        ],
        "tiers": {code: {**t, "minutes": round(t["minutes"], 2)} for code, t in tiers.items()},
    }


def sellable_paths(report: dict[str, Any]) -> set[str]:
    """Files the scan values above zero, one per group of near-duplicates: what
    `outtake upload --only-sellable` sends."""
    return {
        e["path"]
        for e in report["files"]
        if e.get("value_minor", 0) > 0 and not e.get("duplicate_of")
    }
