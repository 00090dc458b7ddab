"""PDQ perceptual hashes of about one frame per second and every shot start (vPDQ's approach).

Frames are hashed at about 512 px (PDQ reduces to 64×64 anyway; full size costs 10× more) and
with black bars cropped, since bars alone move a hash by 88–160 bits (FIELD-NOTES).
Near-identical consecutive hashes of a shot are collapsed: a static shot needs one hash.
"""

from __future__ import annotations

from typing import Any

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
# Within a shot, a hash this close to the last one kept adds nothing for deduplication.
COLLAPSE_BITS = 10


def pdq_hex(bits: np.ndarray) -> str:
    """PDQ's canonical 64-hex-digit form (pdqhash gives bits most significant first)."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def stretched(picture: np.ndarray) -> np.ndarray:
    """picture with its levels stretched so 1 % to 99 % of the grey span 0–255 (gain ≤ MAX_GAIN)."""
    low, high = np.percentile(picture.mean(axis=2), (1, 99))
    gain = min(MAX_GAIN, 255 / max(high - low, 1))
    return np.clip((picture.astype(np.float32) - low) * gain, 0, 255).astype(np.uint8)


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class PdqHashes(Step):
    name = "pdq"
    version = 1
    FRAMES = FrameNeed("pdq.rgb", 512, "rgb24", every_s=1.0, shot_starts=True)
    needs = (FRAMES,)

    def __init__(self) -> None:
        super().__init__()
        self._hashes: dict[int, tuple[float, str, int]] = {}  # frame index → (t, hex, quality)

    def consume(self, frame: Frame) -> None:
        picture = frame.images.get(self.FRAMES.name)
        if picture is None or frame.index in self._hashes:
            return
        rows, columns = measures.bars(picture.max(axis=2))
        picture = measures.crop_bars(picture, rows, columns)
        bits, quality = pdqhash.compute(stretched(picture))
        self.stats.count("hashed")
        if quality < MIN_QUALITY:
            self.stats.count("low_quality")
            return
        self._hashes[frame.index] = (frame.t, pdq_hex(bits), int(quality))

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
