"""A file's soundtrack, decoded once for every step that listens: mono float32 at 16 kHz.

The video pass demuxes the audio packets with the video ones and hands them to a SoundDecoder,
so the file is read once; decode_sound reads a file's audio on its own, for a source that did
not make that pass. Clipping is counted on the decoded samples at their own rate and
channels, before mixing down hides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.audio.stream
import av.container
import numpy as np

RATE = 16_000  # what silero VAD takes, and enough for loudness
# A sample this close to full scale is clipped (lossy codecs smear a clipped peak a little).
CLIP_LEVEL = 0.99


@dataclass(frozen=True)
class Sound:
    samples: np.ndarray  # mono float32 at RATE
    clipped_share: float  # of all decoded samples, every channel
    seconds: float


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The first audio stream, if FFmpeg has a decoder for it."""
    streams = container.streams.audio
    return streams[0] if streams and streams[0].codec_context is not None else None


class SoundDecoder:
    """Decodes one audio stream's packets as they are demuxed, into a Sound at the end."""

    def __init__(self, stream: av.audio.stream.AudioStream) -> None:
        stream.codec_context.thread_count = 1
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        self._chunks: list[np.ndarray] = []
        self._clipped = self._total = 0

    def feed(self, packet: av.Packet) -> None:
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            return  # a damaged packet costs its samples, not the asset
        for frame in frames:
            native = frame.to_ndarray()
            self._clipped += int(np.count_nonzero(np.abs(native) >= _full_scale(native)))
            self._total += native.size
            self._chunks.extend(r.to_ndarray().ravel() for r in self._resampler.resample(frame))

    def finish(self) -> Sound:
        self._chunks.extend(r.to_ndarray().ravel() for r in self._resampler.resample(None))
        chunks = self._chunks
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        clipped = self._clipped / self._total if self._total else 0.0
        return Sound(samples, clipped, len(samples) / RATE)


def decode_sound(path: str | Path) -> Sound | None:
    """The first audio stream of path, or None when it has none (or none FFmpeg decodes)."""
    with av.open(str(path), metadata_errors="replace") as container:
        stream = audio_stream(container)
        if stream is None:
            return None
        decoder = SoundDecoder(stream)
        for packet in container.demux(stream):
            decoder.feed(packet)
    return decoder.finish()


def _full_scale(native: np.ndarray) -> float:
    if np.issubdtype(native.dtype, np.integer):
        return CLIP_LEVEL * np.iinfo(native.dtype).max
    return CLIP_LEVEL
