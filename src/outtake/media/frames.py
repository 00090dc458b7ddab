"""Pictures of chosen frames of files, for a reviewer comparing two clips frame by frame.

Run in the sandbox (run_isolated("outtake.media.frames:write_frames", jobs)): each picture is
the first frame shown at or after its time, upright, at most FRAME_SIDE pixels on its long side,
watermarked like the previews and saved with none of the original's metadata. A photo is its own
frame at every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from outtake.media.analysis.previews import watermarked
from outtake.media.images import open_photo
from outtake.media.thumbnail import make_thumbnail, write_thumbnail
from outtake.media.videos import (
    clockwise_rotation,
    open_video,
    seek_at_or_before,
    video_stream,
)

FRAME_SIDE = 240
_EPS_S = 1e-3


def write_frames(jobs: list[list], max_pixels: int = 100_000_000) -> None:
    """For each [path, times in seconds, out_dir]: out_dir/frame-<n>.jpg, the n-th time's frame."""
    for path, times, out_dir in jobs:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for n, picture in enumerate(_pictures(Path(path), times, out, max_pixels)):
            write_thumbnail(watermarked(np.asarray(picture)), out / f"frame-{n}.jpg")


def _pictures(path: Path, times: list[float], out: Path, max_pixels: int) -> list[Image.Image]:
    photo = open_photo(path, max_pixels)
    if photo is not None:
        photo.close()
        make_thumbnail(path, out / "photo.jpg", max_side=FRAME_SIDE, max_pixels=max_pixels)
        with Image.open(out / "photo.jpg") as picture:
            return [picture.convert("RGB")] * len(times)
    with open_video(path) as container:
        stream = video_stream(container)
        return [_frame_at(container, stream, t) for t in times]


def _frame_at(container, stream, t: float) -> Image.Image:
    """The first frame shown at or after t (the last one, past the end), upright and small.

    t counts from the stream's first frame, as the analysis's times do (decode.py), not from
    the container's clock, which starts later than 0 in MPEG-TS and some MOV files.
    """
    start = stream.start_time or 0
    seek_at_or_before(container, stream, start + max(0, round(t / stream.time_base)))
    picked = None
    for frame in container.decode(stream):
        picked = frame
        if frame.pts is not None and (frame.pts - start) * stream.time_base >= t - _EPS_S:
            break
    if picked is None:
        raise ValueError(f"no frame decodes near {t:.2f} s")
    image = picked.to_image()
    image.thumbnail((FRAME_SIDE, FRAME_SIDE))
    return image.rotate(-clockwise_rotation(picked), expand=True)
