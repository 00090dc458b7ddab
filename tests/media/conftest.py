"""Media made on the fly: small videos and photos written with PyAV and Pillow into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image


def write_video(
    path: Path,
    *,
    frames: int = 50,
    size: tuple[int, int] = (320, 240),
    rate: int = 25,
    options: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    rotation: int | None = None,
    picture: Callable[[int], Image.Image] | None = None,
    start_s: int = 0,
) -> Path:
    """An H.264 file; noise frames by default so it is not implausibly small. Its first frame
    is shown at start_s, as in camera MPEG-TS (.mts, .m2ts) whose clock does not start at 0."""
    with av.open(str(path), "w", options=options or {}) as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": "10", "preset": "ultrafast"}  # several keyframes, fast to encode
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            image = picture(i) if picture else Image.effect_noise(size, 64).convert("RGB")
            frame = av.VideoFrame.from_image(image)
            frame.pts = start_s * rate + i
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_audio(path: Path, *, seconds: float = 1.0, rate: int = 44100) -> Path:
    """An AAC-only file (silence)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = 1024
        for i in range(int(seconds * rate / samples)):
            frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
            frame.sample_rate = rate
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = i * samples
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(autouse=True)
def _restore_pillow_pixel_limit(monkeypatch):
    """probe() sets Pillow's process-wide MAX_IMAGE_PIXELS; keep other tests unaffected."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


@pytest.fixture
def video(tmp_path: Path) -> Callable[..., Path]:
    """write_video into tmp_path: video("name.mp4", frames=..., ...)."""
    return lambda name, **kwargs: write_video(tmp_path / name, **kwargs)


@pytest.fixture
def audio(tmp_path: Path) -> Callable[..., Path]:
    """write_audio into tmp_path: audio("name.m4a")."""
    return lambda name, **kwargs: write_audio(tmp_path / name, **kwargs)
