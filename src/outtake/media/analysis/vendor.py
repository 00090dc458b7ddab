"""Camera vendor metadata PyAV does not show (pymediainfo), and camera sidecar files.

MediaInfo reads maker atoms (DJI, GoPro, Sony), HDR transfer characteristics, bit depth,
frame-rate mode and rotation. Log profiles are named only in vendor tags (D-Log, S-Log, V-Log,
Log C, N-Log, F-Log): looked for in every tag value. Sidecars a camera writes next to its
footage (DJI .LRF low-resolution proxies, .THM thumbnails, .SRT telemetry, XML clip
descriptions) are never footage to analyse or sell; DJI's .SRT gives the altitude above the
take-off point, evidence of aerial footage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SIDECAR_SUFFIXES = (".lrf", ".thm", ".srt", ".xml", ".aae", ".xmp")
_LOG_PROFILES = {
    "d-log": "D-Log", "dlog": "D-Log", "s-log": "S-Log", "slog": "S-Log", "v-log": "V-Log",
    "vlog": "V-Log", "log c": "Log C", "logc": "Log C", "n-log": "N-Log", "f-log": "F-Log",
    "protune flat": "GoPro Flat",
}  # fmt: skip
_TRANSFER = {"pq": "PQ", "smpte st 2084": "PQ", "hlg": "HLG", "arib std-b67": "HLG"}
_MAKE_KEYS = ("comapplequicktimemake", "make", "manufacturer")
_MODEL_KEYS = ("comapplequicktimemodel", "model", "model_name")
_SRT_ALTITUDE = re.compile(r"rel_alt:\s*(-?[\d.]+)|\bH\s*(-?[\d.]+)\s*m", re.IGNORECASE)


def is_sidecar(path: str | Path) -> bool:
    """Whether path is a camera sidecar (proxy, thumbnail, telemetry), never footage."""
    return Path(path).suffix.lower() in SIDECAR_SUFFIXES


def srt_altitudes(path: str | Path) -> list[float]:
    """Altitudes above take-off (metres) in a DJI telemetry .SRT (``rel_alt:`` or ``H 12.3m``)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return [float(a or b) for a, b in _SRT_ALTITUDE.findall(text)]


def vendor_metadata(path: str | Path) -> dict[str, Any]:
    """make, model, transfer (PQ/HLG), hdr, bit_depth, log_profile, rotation, variable_frame_rate
    and, from a DJI .SRT next to the file, relative_altitude_m. Unknown values are None."""
    from pymediainfo import MediaInfo

    info = MediaInfo.parse(str(path))
    general = info.general_tracks[0].to_data() if info.general_tracks else {}
    video = info.video_tracks[0].to_data() if info.video_tracks else {}
    transfer = _TRANSFER.get(str(video.get("transfer_characteristics", "")).lower())
    texts = " ".join(str(v) for v in (*general.values(), *video.values())).lower()
    log = next((name for key, name in _LOG_PROFILES.items() if key in texts), None)
    found: dict[str, Any] = {
        "make": _first(general, _MAKE_KEYS),
        "model": _first(general, _MODEL_KEYS),
        "transfer": transfer,
        "hdr": bool(transfer or video.get("hdr_format")),
        "bit_depth": _int(video.get("bit_depth")),
        "log_profile": log,
        "rotation": _int(float(video["rotation"])) if video.get("rotation") else 0,
        "variable_frame_rate": video.get("frame_rate_mode") == "VFR",
        "relative_altitude_m": None,
    }
    srt = next((p for p in _siblings(Path(path), ".srt") if p.exists()), None)
    if srt is not None:
        altitudes = srt_altitudes(srt)
        found["relative_altitude_m"] = max(altitudes) if altitudes else None
    return found


def _siblings(path: Path, suffix: str) -> list[Path]:
    return [path.with_suffix(suffix), path.with_suffix(suffix.upper())]


def _first(track: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((str(track[k]).strip() for k in keys if track.get(k)), None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
