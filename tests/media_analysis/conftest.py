"""Test footage made on the fly with PyAV: textured, panning scenes with grain and known cuts.

x264 is pinned so cuts do not land on keyframes (scene-cut detection off, fixed GOP) and the
main pass really skips frames (three B-frames between references).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

SIZE = (320, 180)
RATE = 25
X264 = "keyint=50:min-keyint=50:scenecut=0:bframes=3:b-adapt=0"


def canvas(seed: int, size: tuple[int, int] = SIZE, pad: int = 48) -> np.ndarray:
    """A scene bigger than the frame: colour gradients, blocks and fine texture, RGB uint8."""
    rng = np.random.default_rng(seed)
    width, height = size[0] + pad, size[1] + pad
    colours = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    picture = cv2.resize(colours, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    for _ in range(6):
        x, y = rng.integers(0, width - 40), rng.integers(0, height - 30)
        w, h = rng.integers(15, 60), rng.integers(10, 40)
        picture[y : y + h, x : x + w] = rng.integers(0, 256, 3)
    picture += rng.integers(-25, 26, (height, width, 1), dtype=np.int16)  # texture
    return np.clip(picture, 0, 255).astype(np.uint8)


def pan(scene: np.ndarray, i: int, size: tuple[int, int] = SIZE, speed: int = 1) -> np.ndarray:
    """Frame i of a camera panning diagonally across scene, back and forth."""
    span = scene.shape[0] - size[1]
    offset = abs((i * speed) % (2 * span) - span)
    return scene[offset : offset + size[1], offset : offset + size[0]]


def grain(picture: np.ndarray, rng: np.random.Generator, amount: int = 4) -> np.ndarray:
    noise = rng.integers(-amount, amount + 1, picture.shape, dtype=np.int16)
    return np.clip(picture.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def write_clip(
    path: Path,
    pictures: Iterable[np.ndarray],
    *,
    rate: int = RATE,
    bit_rate: int = 1_500_000,
    x264: str = X264,
) -> Path:
    """Encode RGB frames as H.264 in MP4."""
    with av.open(str(path), "w") as container:
        stream = None
        for i, picture in enumerate(pictures):
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.height, stream.width = picture.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = bit_rate
                stream.options = {"preset": "veryfast", "x264-params": x264}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def shots_video(cuts: list[int], frames: int, size: tuple[int, int] = SIZE, seed: int = 0):
    """Frames of a video cutting to a new panning scene at each frame number in cuts."""
    rng = np.random.default_rng(seed + 1000)
    bounds = [0, *cuts]
    scenes = [canvas(seed + k, size) for k in range(len(bounds))]
    for i in range(frames):
        shot = sum(1 for b in bounds[1:] if i >= b)
        yield grain(pan(scenes[shot], i, size), rng)


@pytest.fixture
def clip(tmp_path: Path) -> Callable[..., Path]:
    """clip("name.mp4", pictures, **write_clip options) written into tmp_path."""
    return lambda name, pictures, **kwargs: write_clip(tmp_path / name, pictures, **kwargs)
