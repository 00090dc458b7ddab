"""What of a file's metadata others may see (DESIGN.md: privacy of creators and people)."""

from __future__ import annotations

from typing import Any

# Two decimals of a degree is about 1.1 km of latitude: coarse enough to hide a home.
GPS_DECIMALS = 2
PRIVATE_KEYS = {"camera_serial", "original_filename"}


def public_metadata(probe: dict[str, Any], *, precise_location: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in probe.items() if k not in PRIVATE_KEYS}
    gps = probe.get("gps")
    if gps and not precise_location:
        out["gps"] = {
            "lat": round(float(gps["lat"]), GPS_DECIMALS),
            "lon": round(float(gps["lon"]), GPS_DECIMALS),
            "alt": None,
        }
    return out
