"""Small upright JPEG previews of videos and photos, carrying none of the original's metadata."""

from __future__ import annotations

import os
from pathlib import Path

import av
import av.container
import av.video.frame
import av.video.stream
from PIL import Image

from outtake.media.errors import MediaError
from outtake.media.images import decoding, open_photo, resizable, to_rgb, upright
from outtake.media.metadata import exif_orientation
from outtake.media.videos import (
    clockwise_rotation,
    open_video,
    raise_if_out_of_resources,
    video_stream,
)

JPEG_QUALITY = 82
# Where in a video the preview frame is taken: past intros and slates, before the end.
VIDEO_POSITION = 0.10
# Pillow names transposes counter-clockwise.
_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def make_thumbnail(
    path: str | Path, out_path: str | Path, *, max_side: int = 480, max_pixels: int = 100_000_000
) -> tuple[int, int]:
    """Write a JPEG preview no larger than max_side on its long side; return its (w, h)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise MediaError("The file is empty (0 bytes); please upload it again", "empty")
    photo = open_photo(path, max_pixels)
    if photo is not None:
        with photo:
            picture = _photo_preview(photo, max_side)
    else:
        with open_video(path) as container:
            picture = _video_preview(container, max_side)
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".part")
    # No exif=, icc_profile= or other info: serial numbers and GPS stay behind.
    picture.save(partial, "JPEG", quality=JPEG_QUALITY, optimize=True)
    os.replace(partial, out_path)  # a reader never sees half a JPEG
    return picture.size


def _photo_preview(image: Image.Image, max_side: int) -> Image.Image:
    with decoding():
        orientation = exif_orientation(image)
        image = resizable(image)
        # thumbnail() asks JPEG for a DCT-scaled draft and reduce()s before resampling, so a
        # 100-megapixel JPEG never decodes at full size.
        image.thumbnail((max_side, max_side))
        return upright(to_rgb(image), orientation)


def _video_preview(container: av.container.InputContainer, max_side: int) -> Image.Image:
    stream = video_stream(container)
    frame = _frame_at(container, stream, VIDEO_POSITION) or _frame_at(container, stream, 0.0)
    if frame is None:
        raise MediaError(
            "No frame of the video can be decoded; the file is damaged", "not_decodable"
        )
    scale = min(1.0, max_side / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    try:
        # Scale in swscale while converting to RGB, so an 8K frame never exists as a full RGB
        # image; one thread, since a thumbnail is too small to gain from swscale's threads.
        picture = frame.reformat(width, height, "rgb24", interpolation="AREA", threads=1).to_image()
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        raise MediaError(f"The video frame cannot be converted ({exc})", "not_decodable") from exc
    turn = _CLOCKWISE.get(clockwise_rotation(frame))
    return picture.transpose(turn) if turn is not None else picture


def _frame_at(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fraction: float,
) -> av.video.frame.VideoFrame | None:
    """The first frame at or after fraction of the duration, else the last one decoded."""
    start = stream.start_time or 0
    if stream.duration:
        length = stream.duration
    elif container.duration:
        length = int(container.duration / av.time_base / stream.time_base)
    else:
        length = 0
    target = start + int(fraction * length)
    last = None
    try:
        # Seeking lands on the keyframe before target; decode forward from there.
        container.seek(target, stream=stream, backward=True)
        for frame in container.decode(stream):
            last = frame
            if frame.pts is None or frame.pts >= target:
                return frame
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)  # else a damaged stretch: the caller tries the start
    return last
