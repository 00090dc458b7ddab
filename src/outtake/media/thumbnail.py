"""Small upright JPEG previews of videos and photos, carrying none of the original's metadata."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from outtake.media.errors import MediaError
from outtake.media.images import decoding, open_photo, resizable, to_rgb, upright
from outtake.media.metadata import exif_orientation
from outtake.media.videos import unreadable

JPEG_QUALITY = 82
# Where in a video the preview frame is taken: past intros and slates, before the end.
VIDEO_POSITION = 0.10


def make_thumbnail(
    path: str | Path, out_path: str | Path, *, max_side: int = 480, max_pixels: int = 100_000_000
) -> tuple[int, int]:
    """Write a JPEG preview of a photo no larger than max_side on its long side; return its
    (w, h). A video's thumbnail comes from the analysis pass (analysis/thumbnail.py)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise MediaError("The file is empty (0 bytes); please upload it again", "empty")
    photo = open_photo(path, max_pixels)
    if photo is None:
        raise unreadable(path)
    with photo:
        return write_thumbnail(_photo_preview(photo, max_side), out_path)


def write_thumbnail(picture: Image.Image, out_path: str | Path) -> tuple[int, int]:
    """Save picture as the thumbnail JPEG, atomically and with no metadata; return its (w, h)."""
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
