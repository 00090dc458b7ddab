"""Benchmark footage made in the run: realistic bitrate, cuts off keyframes, speech-like audio.

A smooth synthetic picture compresses to almost nothing and decodes unrealistically fast, and
x264's scene-cut keyframes would put every cut on a keyframe (FIELD-NOTES): so the encoder is
pinned (bitrate, GOP, B-frames, no scene-cut) and grain is added to every frame. Frames are made
straight in YUV 4:2:0 so that making them costs little next to encoding them.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

AUDIO_RATE = 48_000
_SENTENCES = (
    "The light over the harbour changes every few minutes at this time of the year.",
    "We started filming just after sunrise, before the boats went out.",
    "Most of this footage has never been published anywhere.",
    "Here the road climbs through the forest towards the old observatory.",
    "Listen to the wind; it is much stronger up here than in the valley.",
)


@dataclass(frozen=True)
class Spec:
    """What to encode: size, rate, seconds, codec and its options."""

    width: int
    height: int
    fps: int
    seconds: float
    codec: str
    pix_fmt: str
    bit_rate: int
    options: dict[str, str]


def h264_1080p(seconds: float = 120) -> Spec:
    """The issue's input: 1080p30 H.264 High, 8 Mb/s, GOP 2 s, 3 B-frames, no scene-cut."""
    return Spec(
        1920, 1080, 30, seconds, "libx264", "yuv420p", 8_000_000,
        {
            "preset": "veryfast",
            "profile": "high",
            "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=3:b-adapt=0",
        },
    )  # fmt: skip


def hevc_4k_10bit(seconds: float = 20) -> Spec:
    """A 4K HEVC Main 10 sample, tagged PQ HDR like a phone or drone's HDR mode."""
    params = (
        "keyint=60:min-keyint=60:scenecut=0:bframes=3:log-level=error:"
        "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"
    )
    return Spec(
        3840, 2160, 30, seconds, "libx265", "yuv420p10le", 40_000_000,
        {"preset": "ultrafast", "x265-params": params},
    )  # fmt: skip


def cut_frames(spec: Spec) -> list[int]:
    """Cuts every 5–11 s, never on a keyframe (every 60th frame) nor a multiple of 4."""
    rng = np.random.default_rng(5)
    total = round(spec.seconds * spec.fps)
    cuts, at = [], 0
    while True:
        at += int(rng.integers(5 * spec.fps, 11 * spec.fps)) | 1  # odd: off keyframes
        if at >= total - spec.fps:
            return cuts
        cuts.append(at)


def write(path: Path, spec: Spec) -> Path:
    """Encode spec to path (MP4) with AAC audio interleaved as a camera writes it."""
    cuts = cut_frames(spec)
    audio = speech_like(spec.seconds)
    rng = np.random.default_rng(1)
    grains = [_grain(rng, spec.height, spec.width) for _ in range(8)]
    with av.open(str(path), "w") as container:
        video = container.add_stream(spec.codec, rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, spec.pix_fmt
        video.bit_rate = spec.bit_rate
        video.options = dict(spec.options)
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        sound.bit_rate = 128_000
        written = 0
        total = round(spec.seconds * spec.fps)
        for i in range(total):
            shot = sum(1 for c in cuts if i >= c)
            if i == 0 or i in cuts:
                scene = _Scene(np.random.default_rng(100 + shot), spec, kind=shot % 3)
            frame = av.VideoFrame.from_ndarray(scene.frame(i, grains[i % 8]), format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, spec.fps)
            container.mux(video.encode(frame))
            until = min(len(audio), round((i + 1) / spec.fps * AUDIO_RATE)) // 1024 * 1024
            for start in range(written, until, 1024):
                container.mux(sound.encode(_audio_frame(audio[start : start + 1024], start)))
            written = max(written, until)
        container.mux(video.encode())
        container.mux(sound.encode())
    return path


class _Scene:
    """A textured picture larger than the frame that a camera pans over, holds or shakes."""

    def __init__(self, rng: np.random.Generator, spec: Spec, kind: int) -> None:
        self.spec, self.kind, self.rng = spec, kind, rng
        pad = 256
        width, height = spec.width + pad, spec.height + pad
        colours = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
        rgb = cv2.resize(colours, (width, height), interpolation=cv2.INTER_CUBIC)
        for _ in range(40):
            x, y = int(rng.integers(0, width - 200)), int(rng.integers(0, height - 150))
            w, h = int(rng.integers(30, 300)), int(rng.integers(20, 200))
            rgb[y : y + h, x : x + w] = rng.integers(0, 256, 3)
        texture = cv2.resize(
            rng.integers(-30, 31, (height // 4, width // 4), dtype=np.int16).astype(np.float32),
            (width, height),
        )
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV).astype(np.float32)
        self.y = np.clip(yuv[..., 0] + texture, 0, 255).astype(np.uint8)
        self.u = cv2.resize(yuv[..., 1], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        self.v = cv2.resize(yuv[..., 2], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        self.pad = pad

    def frame(self, i: int, grain: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        if self.kind == 0:  # a pan
            x = y = (2 * i) % self.pad
        elif self.kind == 1:  # a tripod shot
            x = y = self.pad // 2
        else:  # handheld: jitter around the centre
            x, y = (self.pad // 2 + self.rng.integers(-12, 13, 2)).tolist()
        x, y = x // 2 * 2, y // 2 * 2
        w, h = self.spec.width, self.spec.height
        luma = cv2.subtract(cv2.add(self.y[y : y + h, x : x + w], grain[0]), grain[1])
        if self.kind == 1:  # something crosses a tripod shot, or it would be a frozen picture
            left = (8 * i) % (w - h // 4)
            luma[h // 3 : h // 3 + h // 4, left : left + h // 4] = 200
        u = self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2]
        v = self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2]
        return np.concatenate([luma, u.reshape(h // 4, w), v.reshape(h // 4, w)]).astype(np.uint8)


def _grain(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    noise = rng.integers(-5, 6, (height, width), dtype=np.int16)
    return np.maximum(noise, 0).astype(np.uint8), np.maximum(-noise, 0).astype(np.uint8)


def _audio_frame(samples: np.ndarray, start: int) -> av.AudioFrame:
    stereo = np.ascontiguousarray(np.stack([samples, samples]), dtype=np.float32)
    frame = av.AudioFrame.from_ndarray(stereo, format="fltp", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
    return frame


def speech_like(seconds: float, rate: int = AUDIO_RATE) -> np.ndarray:
    """Sentences spoken by espeak-ng with pauses, or a syllable-modulated tone without it."""
    total = round(seconds * rate)
    voice = espeak(" ".join(_SENTENCES), rate) if shutil.which("espeak-ng") else None
    if voice is None:
        t = np.arange(total) / rate
        syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * (np.sin(2 * np.pi * 0.1 * t) > 0)
        voice = 0.3 * syllables * np.sin(2 * np.pi * (140 + 30 * np.sin(t)) * t)
        return voice.astype(np.float32)
    pause = np.zeros(rate * 2, np.float32)
    reps = total // (len(voice) + len(pause)) + 1
    return np.tile(np.concatenate([voice, pause]), reps)[:total]


def espeak(text: str, rate: int = 16_000) -> np.ndarray | None:
    """text spoken by espeak-ng, as mono float32 at rate, or None without espeak-ng."""
    tool = shutil.which("espeak-ng")
    if tool is None:
        return None
    out = subprocess.run([tool, "--stdout", text], capture_output=True, check=True).stdout
    # espeak-ng streams: its header declares a huge length, so read to the end of the bytes.
    with wave.open(io.BytesIO(out)) as wav:
        native = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    samples = samples.astype(np.float32) / 32768
    positions = np.arange(round(len(samples) * rate / native)) * native / rate
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
