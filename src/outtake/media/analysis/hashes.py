"""PDQ perceptual hashes of about one frame per second and every shot start (vPDQ's approach).

Frames are hashed at about 512 px (PDQ reduces to 64×64 anyway; full size costs 10× more) and
with black bars cropped, since bars alone move a hash by 88–160 bits (FIELD-NOTES).
Near-identical consecutive hashes of a shot are collapsed: a static shot needs one hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pdqhash

from outtake.media.analysis import measures
from outtake.media.analysis.decode import Frame, FrameNeed
from outtake.media.analysis.pipeline import Context, Step

# PDQ's own guidance: hashes of quality under 50 (flat or near-black frames) match unrelated
# pictures, so they are not kept.
MIN_QUALITY = 50
# PDQ's quality falls with contrast although its hash does not change with it, so flat "log"
# footage is stretched to full range first; by at most this gain, so that grain on a blank
# wall stays a low-quality hash.
MAX_GAIN = 2.5
_CHANNEL_MEAN = np.full((1, 3), 1 / 3, np.float32)
# Within a shot, a hash this close to the last one kept adds nothing for deduplication.
COLLAPSE_BITS = 10


def pdq_hex(bits: np.ndarray) -> str:
    """PDQ's canonical 64-hex-digit form (pdqhash gives bits most significant first)."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def stretched(picture: np.ndarray) -> np.ndarray:
    """picture with its levels stretched so 1 % to 99 % of the grey span 0–255 (gain ≤ MAX_GAIN)."""
    # Percentiles from a histogram of the channel mean, and a lookup table: a tenth of the
    # cost of sorting and scaling floats (it runs on every sampled frame).
    grey = cv2.transform(np.ascontiguousarray(picture), _CHANNEL_MEAN)
    cumulative = np.cumsum(np.bincount(grey.ravel(), minlength=256))
    low, high = np.searchsorted(cumulative, (0.01 * grey.size, 0.99 * grey.size))
    gain = min(MAX_GAIN, 255 / max(float(high - low), 1.0))
    table = np.clip((np.arange(256, dtype=np.float32) - low) * gain, 0, 255).astype(np.uint8)
    return cv2.LUT(picture, table)


@dataclass(frozen=True)
class PdqView:
    """A picture as PDQ sees it (bars cropped, levels stretched), its quality and its eight
    dihedral hashes as bits (pdqhash.compute_dihedral's order: the first is the picture's)."""

    picture: np.ndarray
    dihedral: list[np.ndarray]
    quality: int


def pdq_view(picture: np.ndarray) -> PdqView:
    """The PDQ view of an RGB picture. The dihedral hashes come from the same DCT as the plain
    hash (the first is bit for bit pdqhash.compute's), so one call serves both steps."""
    rows, columns = measures.bars(measures.brightest(picture))
    prepared = stretched(measures.crop_bars(picture, rows, columns))
    dihedral, quality = pdqhash.compute_dihedral(prepared)
    return PdqView(prepared, dihedral, int(quality))


def frame_pdq_view(frame: Frame) -> PdqView | None:
    """The PDQ view of the frame's sampled picture (None if it has none), made once per frame
    for the pdq and dedup steps."""
    view = frame.derived.get(PdqHashes.FRAMES.name)
    if view is None:
        picture = frame.images.get(PdqHashes.FRAMES.name)
        if picture is None:
            return None
        view = frame.derived[PdqHashes.FRAMES.name] = pdq_view(picture)
    return view


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class PdqHashes(Step):
    name = "pdq"
    version = 2
    FRAMES = FrameNeed("pdq.rgb", 512, "rgb24", every_s=1.0, shot_starts=True)
    needs = (FRAMES,)

    def __init__(self) -> None:
        super().__init__()
        self._hashes: dict[int, tuple[float, str, int]] = {}  # frame index → (t, hex, quality)

    def consume(self, frame: Frame) -> None:
        if frame.index in self._hashes:
            return
        view = frame_pdq_view(frame)
        if view is None:
            return
        self.stats.count("hashed")
        if view.quality < MIN_QUALITY:
            self.stats.count("low_quality")
            return
        self._hashes[frame.index] = (frame.t, pdq_hex(view.dihedral[0]), view.quality)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        results = []
        for shot in context.shots:
            kept: list[dict[str, Any]] = []
            for index in sorted(self._hashes):
                if not shot.start_frame <= index < shot.end_frame:
                    continue
                t, digest, quality = self._hashes[index]
                if kept and hamming(kept[-1]["hash"], digest) <= COLLAPSE_BITS:
                    continue
                kept.append({"t": round(t, 3), "hash": digest, "quality": quality})
            self.stats.count("kept", len(kept))
            results.append({"pdq": kept})
        return results
