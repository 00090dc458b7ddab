"""The copies a duplicate arrives as, made with PyAV: for the matcher's tests and its bench."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

Picture = np.ndarray  # H×W×3 RGB


def _grey(p: Picture) -> Picture:
    return np.repeat(p.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)


def _colour(p: Picture) -> Picture:
    shifted = p.astype(np.float32) * np.array([1.15, 0.95, 0.8]) + 25
    return np.clip(shifted, 0, 255).astype(np.uint8)


def _logo(p: Picture) -> Picture:
    out = p.copy()
    h, w = out.shape[:2]
    # A corner watermark: 10 % of the width, a twelfth of the height.
    x0, y0, x1, y1 = w - w // 8, h // 24, w - w // 40, h // 24 + h // 12
    cv2.rectangle(out, (x0, y0), (x1, y1), (255, 255, 255), -1)
    scale = (y1 - y0) / 40
    cv2.putText(out, "LOGO", (x0 + 2, y1 - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (200, 0, 0), 1)
    return out


def _letterbox(p: Picture) -> Picture:
    pad = p.shape[0] // 6  # into a taller frame, as a 4:3 export of 16:9 footage
    return cv2.copyMakeBorder(p, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _pillarbox(p: Picture) -> Picture:
    pad = p.shape[1] // 6  # into a wider frame, as a 16:9 export of 4:3 or portrait footage
    return cv2.copyMakeBorder(p, 0, 0, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _mirror(p: Picture) -> Picture:
    return np.ascontiguousarray(p[:, ::-1])


def _crop(share: float) -> Callable[[Picture], Picture]:
    def crop(p: Picture) -> Picture:
        h, w = p.shape[:2]
        dy, dx = round(h * share), round(w * share)
        return cv2.resize(p[dy : h - dy, dx : w - dx], (w, h), interpolation=cv2.INTER_AREA)

    return crop


def _crop_axis(axis: str, share: float) -> Callable[[Picture], Picture]:
    """share cut off the left and right (w) or the top and bottom (h), the picture left
    smaller: a change of aspect ratio."""

    def crop(p: Picture) -> Picture:
        h, w = p.shape[:2]
        dy, dx = (0, round(w * share)) if axis == "w" else (round(h * share), 0)
        return np.ascontiguousarray(p[dy : h - dy, dx : w - dx])

    return crop


def _cut(side: str, share: float) -> Callable[[Picture], Picture]:
    """One side (l, r, t or b) cut off by share, the picture left smaller."""

    def cut(p: Picture) -> Picture:
        h, w = p.shape[:2]
        dy, dx = round(h * share), round(w * share)
        top, bottom = (dy, h) if side == "t" else (0, h - dy) if side == "b" else (0, h)
        left, right = (dx, w) if side == "l" else (0, w - dx) if side == "r" else (0, w)
        return np.ascontiguousarray(p[top:bottom, left:right])

    return cut


def _resize(p: Picture) -> Picture:
    h, w = p.shape[:2]
    return cv2.resize(p, (w // 2 // 2 * 2, h // 2 // 2 * 2), interpolation=cv2.INTER_AREA)


CROP_SHARES = (1.5, 2.5, 3.75, 5, 6.25, 7.5, 8.75, 10)  # % cut off each side
# One side cut: each side, at the cut variants' shares (hashes.py) and between two of them.
CUTS = (("right", 10), ("left", 6.25), ("top", 3.75), ("bottom", 7.5), ("left", 1.5))
# name → (per-picture change, speed factor, bitrate); speed 1.25 keeps 4 frames of 5.
TRANSFORMS: dict[str, tuple[Callable[[Picture], Picture] | None, float, int]] = {
    "re-encode": (None, 1.0, 400_000),
    "resize": (_resize, 1.0, 800_000),
    "grey": (_grey, 1.0, 800_000),
    "colour": (_colour, 1.0, 800_000),
    "logo": (_logo, 1.0, 800_000),
    "letterbox": (_letterbox, 1.0, 800_000),
    "pillarbox": (_pillarbox, 1.0, 800_000),
    "mirror": (_mirror, 1.0, 800_000),
    "speed+25%": (None, 1.25, 800_000),
    "speed-25%": (None, 0.8, 800_000),
    # Every share of the central regions' (hashes.py), and shares between two of them.
    **{f"crop {share:g}%": (_crop(share / 100), 1.0, 800_000) for share in CROP_SHARES},
    **{
        f"cut {share:g}% {side}": (_cut(side[0], share / 100), 1.0, 800_000) for side, share in CUTS
    },
    # Two opposite sides cropped (a change of aspect ratio), at a share and between two.
    "crop 5% left and right": (_crop_axis("w", 0.05), 1.0, 800_000),
    "crop 8.75% top and bottom": (_crop_axis("h", 0.0875), 1.0, 800_000),
}


def _even(p: Picture) -> Picture:
    h, w = p.shape[:2]
    return np.ascontiguousarray(p[: h // 2 * 2, : w // 2 * 2])


def transform_video(
    source: Path,
    target: Path,
    name: str,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    preset: str = "medium",
) -> Path:
    """source transformed by TRANSFORMS[name] (and cut to start_s..end_s) into target (H.264).

    preset is x264's: tests use a faster one, which at the same bitrate leaves more artefacts."""
    change, speed, bitrate = TRANSFORMS[name]
    with av.open(str(source)) as inp:
        stream = inp.streams.video[0]
        rate = stream.average_rate or 25
        pictures = []
        for frame in inp.decode(stream):
            t = float(frame.time or 0)
            if t < start_s or (end_s is not None and t >= end_s):
                continue
            picture = frame.to_ndarray(format="rgb24")
            pictures.append(_even(change(picture) if change else picture))
    # Resample frames for the speed change: output frame k shows source frame round(k·speed).
    count = int(len(pictures) / speed)
    picked = [pictures[min(len(pictures) - 1, round(k * speed))] for k in range(count)]
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=rate, options={"preset": preset})
        video.height, video.width = picked[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.bit_rate = bitrate
        for picture in picked:
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
    return target


def transform_photo(picture: Picture, name: str) -> Picture:
    """A photo transformed like a frame (speed changes leave a photo as it is)."""
    change, _, _ = TRANSFORMS[name]
    return change(picture) if change else picture
