"""A file's soundtrack, decoded once for every step that listens: mono float32 at 16 kHz.

Audio is demuxed on its own (reading the file again costs little next to video decoding, and
keeps the video pass free of audio bookkeeping). Clipping is counted on the decoded samples at
their own rate and channels, before mixing down hides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

RATE = 16_000  # what silero VAD takes, and enough for loudness
# A sample this close to full scale is clipped (lossy codecs smear a clipped peak a little).
CLIP_LEVEL = 0.99


@dataclass(frozen=True)
class Sound:
    samples: np.ndarray  # mono float32 at RATE
    clipped_share: float  # of all decoded samples, every channel
    seconds: float


def decode_sound(path: str | Path) -> Sound | None:
    """The first audio stream of path, or None when it has none (or none FFmpeg decodes)."""
    with av.open(str(path), metadata_errors="replace") as container:
        if not container.streams.audio or container.streams.audio[0].codec_context is None:
            return None
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = 1
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks: list[np.ndarray] = []
        clipped = total = 0
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                continue  # a damaged packet costs its samples, not the asset
            for frame in frames:
                native = frame.to_ndarray()
                clipped += int(np.count_nonzero(np.abs(native) >= _full_scale(native)))
                total += native.size
                chunks.extend(r.to_ndarray().ravel() for r in resampler.resample(frame))
        chunks.extend(r.to_ndarray().ravel() for r in resampler.resample(None))
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return Sound(samples, clipped / total if total else 0.0, len(samples) / RATE)


def _full_scale(native: np.ndarray) -> float:
    if np.issubdtype(native.dtype, np.integer):
        return CLIP_LEVEL * np.iinfo(native.dtype).max
    return CLIP_LEVEL
