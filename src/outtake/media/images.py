"""Opening photos safely with Pillow and turning any mode into displayable RGB."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from outtake.media.errors import MediaError

# The still formats Outtake accepts (JPEG covers MPO, which Pillow opens through it). Pillow's
# other plugins stay out (EPS runs Ghostscript, FLI/MPEG are video, PSD/ICNS are not photos):
# fewer parsers face untrusted uploads.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "GIF", "BMP", "JPEG2000", "AVIF")

# EXIF orientation → the transpose that displays the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def open_photo(path: Path, max_pixels: int) -> Image.Image | None:
    """Open a photo lazily (header only), refusing it if it has more than max_pixels.

    Returns None when Pillow does not recognise the file as one of PHOTO_FORMATS. Sets
    Pillow's process-wide MAX_IMAGE_PIXELS to max_pixels (meant for the sandbox's child).
    """
    # Pillow's own guard also covers frames a plugin reaches later (GIF/TIFF seek, ICO sizes).
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the limit Pillow only warns; the check below refuses with W×H.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=PHOTO_FORMATS)
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError:
        # Over 2x the limit Pillow refuses before we learn W×H. open() parses only the header,
        # so reading it again without the guard, just for the message, decodes nothing.
        image = _open_header_unguarded(path)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise decode_failure(exc) from exc  # some plugins (WebP) parse the whole file in open()
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise MediaError(
            f"The photo is {width}×{height} pixels ({width * height:,}), more than the "
            f"{max_pixels:,} pixels Outtake accepts",
            "too_large",
        )
    return image


def _open_header_unguarded(path: Path) -> Image.Image:
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(path, formats=PHOTO_FORMATS)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


@contextmanager
def decoding() -> Iterator[None]:
    """Turn Pillow's failures while decoding pixels into MediaErrors a creator can read.

    Truncated files must fail: some libraries (WeasyPrint) switch Pillow's process-wide
    LOAD_TRUNCATED_IMAGES on at import, which would pass a cut-off photo as whole.
    """
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise MediaError(f"The photo is too large to decode safely: {exc}", "too_large") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise decode_failure(exc) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def decode_failure(exc: Exception) -> MediaError:
    if "truncated" in str(exc).lower():
        return MediaError(
            "The photo appears cut off: the file ends before the picture does. "
            "Please upload the complete file",
            "truncated",
        )
    return MediaError(f"The photo can't be decoded ({exc})", "not_decodable")


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation to pixels (the orientation tag itself is not carried over)."""
    method = _UPRIGHT.get(orientation)
    return image.transpose(method) if method is not None else image


def resizable(image: Image.Image) -> Image.Image:
    """Convert modes Pillow resizes badly or not at all, before thumbnailing."""
    if image.mode in ("P", "PA"):
        return image.convert("RGBA")  # resizing a palette would be nearest-neighbour
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        return image.convert("I")  # Pillow cannot resize I;16
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: transparency over white, data modes stretched to 0–255.

    CMYK, YCbCr, HSV and LAB need nothing special: Pillow converts them to RGB itself.
    """
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _stretch_to_grey(image)
    elif image.mode == "La":
        image = image.convert("LA").convert("RGBA")  # Pillow has no direct La→RGBA
    elif image.mode in ("P", "PA", "LA", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image.convert("RGB")


def _stretch_to_grey(image: Image.Image) -> Image.Image:
    # 32-bit integer and float images hold measurements, not 0–255 levels (a float image of
    # 0.0–1.0 would convert to black): map their own range onto 0–255.
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    low, high = image.getextrema()
    if high > low:
        scale = 255.0 / (high - low)
        image = image.point(lambda value: value * scale - low * scale)
    return image.convert("L")
