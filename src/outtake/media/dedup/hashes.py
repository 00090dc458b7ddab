"""Frame hashes for deduplication: PDQ of the frame, of its mirror and of central regions.

PDQ survives re-encoding, resizing, grey and colour changes, but not a mirror or a crop
(crop 10 % moves a hash by 86–132 bits of 256, as far as unrelated pictures; FIELD-NOTES).
So each sampled frame is hashed four ways in the same pass: the frame, its left-right mirror
(from pdqhash's dihedral hashes, no second DCT), and its central 90 % and 80 %, which are what
a copy cropped by 5 % or 10 % per side shows. Bars are cropped first, as for the catalogue's
PDQ hashes, so that a letterboxed copy hashes like its source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash

from outtake.media.analysis.decode import Frame, PhotoSource, VideoSource
from outtake.media.analysis.hashes import (
    COLLAPSE_BITS,
    MIN_QUALITY,
    PdqHashes,
    PdqView,
    frame_pdq_view,
    pdq_view,
)
from outtake.media.analysis.pipeline import Context, Pipeline, Step
from outtake.media.analysis.shots import Shots
from outtake.media.analysis.vendor import is_sidecar
from outtake.media.probe import probe

VARIANTS = ("full", "mirror", "c90", "c80")
# Share of each side kept by the central-region variants.
_CENTRAL = {"c90": 0.05, "c80": 0.10}
# pdqhash.compute_dihedral's order: the left-right mirror is the sixth hash.
_MIRROR = 5


def _central(picture: np.ndarray, margin: float) -> np.ndarray:
    height, width = picture.shape[:2]
    dy, dx = round(height * margin), round(width * margin)
    return np.ascontiguousarray(picture[dy : height - dy, dx : width - dx])


def frame_variants(picture: np.ndarray) -> tuple[int, list[bytes]]:
    """(quality, [full, mirror, c90, c80] as 32-byte PDQ hashes) of an RGB picture."""
    return view_variants(pdq_view(picture))


def view_variants(view: PdqView) -> tuple[int, list[bytes]]:
    """frame_variants() of a picture whose PDQ view is already made (by the pdq step)."""
    hashes = [view.dihedral[0], view.dihedral[_MIRROR]]
    for name in VARIANTS[2:]:
        bits, _ = pdqhash.compute(_central(view.picture, _CENTRAL[name]))
        hashes.append(bits)
    return view.quality, [np.packbits(h.astype(np.uint8)).tobytes() for h in hashes]


def _bits_apart(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a) ^ int.from_bytes(b)).bit_count()


class DedupHashes(Step):
    """Per shot: [{"t": seconds, "q": quality, "h": [full, mirror, c90, c80] hex}], with low
    quality frames dropped and near-identical consecutive ones collapsed (as PdqHashes does)."""

    name = "dedup"
    version = 1
    needs = (PdqHashes.FRAMES,)

    def __init__(self) -> None:
        super().__init__()
        self._frames: dict[int, tuple[float, int, list[bytes]]] = {}

    def consume(self, frame: Frame) -> None:
        if frame.index in self._frames:
            return
        view = frame_pdq_view(frame)
        if view is None:
            return
        quality, hashes = view_variants(view)
        if quality < MIN_QUALITY:
            self.stats.count("low_quality")
            return
        self._frames[frame.index] = (frame.t, quality, hashes)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        results = []
        ordered = sorted(self._frames.items())
        for shot in context.shots:
            kept: list[tuple[float, int, list[bytes]]] = []
            for index, (t, quality, hashes) in ordered:
                if not shot.start_frame <= index < shot.end_frame:
                    continue
                if kept and _bits_apart(kept[-1][2][0], hashes[0]) <= COLLAPSE_BITS:
                    continue
                kept.append((t, quality, hashes))
            self.stats.count("kept", len(kept))
            results.append(
                {
                    "dedup": [
                        {"t": round(t, 3), "q": q, "h": [h.hex() for h in hashes]}
                        for t, q, hashes in kept
                    ]
                }
            )
        return results


def hash_media(path: str | Path, *, min_shot_s: float = 1.0) -> list[dict[str, Any]]:
    """Shots of a local video or photo with their dedup frame hashes, for `outtake hashes`:
    [{"start_s", "end_s", "frames": [{"t", "q", "h"}]}]. Raises MediaError if unreadable."""
    info = probe(path)
    source = PhotoSource(path) if info["kind"] == "image" else VideoSource(path)
    try:
        result = Pipeline(Shots(min_shot_s=min_shot_s), [DedupHashes()]).run(source, info)
    finally:
        source.close()
    return [
        {"start_s": s["start_s"], "end_s": s["end_s"], "frames": s.get("dedup", [])}
        for s in result["shots"]
    ]


def iter_media(folder: Path) -> Iterator[Path]:
    """Files under folder, in a stable order (probe decides which are media), without hidden
    files and camera sidecars (a DJI .LRF proxy would otherwise be hashed as footage)."""
    yield from sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not is_sidecar(p)
    )
