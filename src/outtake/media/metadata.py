"""Camera, time and place metadata: QuickTime/MP4 tags from PyAV and EXIF from Pillow."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from PIL import Image

# EXIF tag numbers (EXIF 2.32 / TIFF 6.0).
_MAKE, _MODEL, _DATETIME, _ORIENTATION = 0x010F, 0x0110, 0x0132, 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _BODY_SERIAL = 0x9003, 0x9011, 0xA431
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6

# Clockwise degrees needed to display an image, per EXIF orientation (2, 4, 5, 7 also mirror).
EXIF_ROTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}

# Tag names seen in phone and camera files, most specific first, compared lower-cased.
_VIDEO_TIME_KEYS = ("com.apple.quicktime.creationdate", "creation_time", "date")
_VIDEO_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_VIDEO_MAKE_KEYS = ("com.apple.quicktime.make", "make", "com.android.manufacturer", "manufacturer")
_VIDEO_MODEL_KEYS = ("com.apple.quicktime.model", "model", "com.android.model")

_ISO6709 = re.compile(r"^\s*([+-][\d.]+)([+-][\d.]+)([+-][\d.]+)?")


def parse_iso6709(text: str) -> dict[str, float | None] | None:
    """Parse an ISO 6709 point such as "+37.7749-122.4194+010.000/" into decimal degrees.

    Degrees may also be written as DDMM.mmm or DDMMSS.sss; the count of integer digits tells
    which (2/4/6 for latitude, 3/5/7 for longitude).
    """
    match = _ISO6709.match(text)
    if not match:
        return None
    try:
        lat = _iso6709_degrees(match[1], 2)
        lon = _iso6709_degrees(match[2], 3)
        alt = float(match[3]) if match[3] else None
    except ValueError:
        return None
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    return {"lat": lat, "lon": lon, "alt": alt}


def _iso6709_degrees(signed: str, degree_digits: int) -> float | None:
    sign = -1.0 if signed[0] == "-" else 1.0
    body = signed[1:]
    whole, _, fraction = body.partition(".")
    fraction = f".{fraction}" if fraction else ""
    d = degree_digits
    if len(whole) == d:
        value = float(body)
    elif len(whole) == d + 2:
        value = int(whole[:d]) + float(whole[d:] + fraction) / 60
    elif len(whole) == d + 4:
        value = (
            int(whole[:d]) + int(whole[d : d + 2]) / 60 + float(whole[d + 2 :] + fraction) / 3600
        )
    else:
        return None
    return sign * value


def normalise_timestamp(text: str | None) -> str | None:
    """An ISO 8601 string from a container or EXIF date, or None if absent or a placeholder."""
    if not text:
        return None
    text = text.strip().rstrip("\x00")
    # EXIF writes "YYYY:MM:DD HH:MM:SS"; only the date part uses colons.
    if re.match(r"^\d{4}:\d{2}:\d{2}", text):
        text = text[:10].replace(":", "-") + "T" + text[11:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Muxers without a clock write 0, which reads back as the Unix epoch (bigbuckbunny.mp4 does).
    if moment.tzinfo is not None and moment.timestamp() <= 0:
        return None
    if moment.tzinfo is None and moment.year <= 1970:
        return None
    return moment.isoformat()


def video_tags(*metadata: Mapping[str, str]) -> dict[str, Any]:
    """Creation time, camera and place from container and stream tags (earlier mappings win)."""
    tags: dict[str, str] = {}
    for mapping in reversed(metadata):
        tags.update({key.lower(): value for key, value in mapping.items()})

    def first(keys: tuple[str, ...]) -> str | None:
        for key in keys:
            value = (tags.get(key) or "").strip()
            if value:
                return value
        return None

    created = next(
        (t for t in (normalise_timestamp(tags.get(key)) for key in _VIDEO_TIME_KEYS) if t), None
    )
    location = first(_VIDEO_LOCATION_KEYS)
    # No standard serial tag exists across vendors; any tag named like one is taken.
    serial = next((v.strip() for k, v in sorted(tags.items()) if "serial" in k and v.strip()), None)
    return {
        "creation_time": created,
        "camera_make": first(_VIDEO_MAKE_KEYS),
        "camera_model": first(_VIDEO_MODEL_KEYS),
        "camera_serial": serial,
        "gps": parse_iso6709(location) if location else None,
    }


def exif_orientation(image: Image.Image) -> int:
    value = image.getexif().get(_ORIENTATION)
    return value if value in EXIF_ROTATION else 1


def exif_tags(image: Image.Image) -> dict[str, Any]:
    """Creation time, camera and place from an image's EXIF (TIFF tags count too)."""
    exif = image.getexif()
    exif_ifd = exif.get_ifd(_EXIF_IFD)
    original = _text(exif_ifd.get(_DATETIME_ORIGINAL))
    offset = _text(exif_ifd.get(_OFFSET_TIME_ORIGINAL))
    if original and offset and re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
        original += offset
    created = normalise_timestamp(original)
    return {
        "creation_time": created or normalise_timestamp(_text(exif.get(_DATETIME))),
        "camera_make": _text(exif.get(_MAKE)),
        "camera_model": _text(exif.get(_MODEL)),
        "camera_serial": _text(exif_ifd.get(_BODY_SERIAL)),
        "gps": _exif_gps(exif.get_ifd(_GPS_IFD)),
    }


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip().strip("\x00").strip()
    return value or None


def _exif_gps(gps: Mapping[int, Any]) -> dict[str, float | None] | None:
    try:
        lat = _dms(gps[_GPS_LAT]) * (-1 if _text(gps.get(_GPS_LAT_REF)) == "S" else 1)
        lon = _dms(gps[_GPS_LON]) * (-1 if _text(gps.get(_GPS_LON_REF)) == "W" else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    alt = None
    try:
        alt = float(gps[_GPS_ALT])
        # AltitudeRef is one byte: 1 means below sea level.
        if gps.get(_GPS_ALT_REF) in (1, b"\x01"):
            alt = -alt
        alt = alt if math.isfinite(alt) else None
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        pass
    return {"lat": lat, "lon": lon, "alt": alt}


def _dms(value: Any) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600
