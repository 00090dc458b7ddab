"""Camera vendor metadata PyAV does not show (pymediainfo), and camera sidecar files.

MediaInfo reads maker atoms (DJI, GoPro, Sony), HDR transfer characteristics, bit depth,
frame-rate mode and rotation. Log profiles are named only in vendor tags (D-Log, S-Log, V-Log,
Log C, N-Log, F-Log): looked for in every tag value. Sidecars a camera writes next to its
footage (DJI .LRF low-resolution proxies, .THM thumbnails, .SRT telemetry, XML clip
descriptions, GoPro .LRV proxies) are never footage to analyse or sell, but two of them say
what the video alone does not: DJI's .SRT gives the altitude above the take-off point (evidence
of aerial footage) and Sony's XML clip description (NonRealTimeMeta) the capture gamma, which
names the log profile. sidecar_facts() reads them; `outtake upload` sends those facts with the
video (the server never sees the sidecar itself), and analysis takes them as vendor metadata.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

SIDECAR_SUFFIXES = (".lrf", ".lrv", ".thm", ".srt", ".xml", ".aae", ".xmp")
_LOG_PROFILES = {
    "d-log": "D-Log", "dlog": "D-Log", "s-log": "S-Log", "slog": "S-Log", "v-log": "V-Log",
    "vlog": "V-Log", "log c": "Log C", "logc": "Log C", "n-log": "N-Log", "f-log": "F-Log",
    "protune flat": "GoPro Flat",
}  # fmt: skip
_TRANSFER = {"pq": "PQ", "smpte st 2084": "PQ", "hlg": "HLG", "arib std-b67": "HLG"}
_MAKE_KEYS = ("comapplequicktimemake", "make", "manufacturer")
_MODEL_KEYS = ("comapplequicktimemodel", "model", "model_name")
_SRT_ALTITUDE = re.compile(r"rel_alt:\s*(-?[\d.]+)|\bH\s*(-?[\d.]+)\s*m", re.IGNORECASE)
_SONY_LOG = re.compile(r"s-log(\d)")
# A Sony clip description is a few KB; anything far larger is not one.
_MAX_XML_BYTES = 1 << 20
# Sidecar facts as sent with an upload, by name, with their type.
SIDECAR_FACTS: dict[str, type] = {
    "relative_altitude_m": float,
    "capture_gamma": str,
    "log_profile": str,
}
_MAX_FACT_CHARS = 64
_MAX_ALTITUDE_M = 100_000


def is_sidecar(path: str | Path) -> bool:
    """Whether path is a camera sidecar (proxy, thumbnail, telemetry), never footage."""
    return Path(path).suffix.lower() in SIDECAR_SUFFIXES


def srt_altitudes(path: str | Path) -> list[float]:
    """Altitudes above take-off (metres) in a DJI telemetry .SRT (``rel_alt:`` or ``H 12.3m``)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return [float(a or b) for a, b in _SRT_ALTITUDE.findall(text)]


def sony_clip_facts(path: str | Path) -> dict[str, str]:
    """capture_gamma and log_profile from a Sony NonRealTimeMeta XML, when it has them:
    <Item name="CaptureGammaEquation" value="s-log3-cine"/>. (Not its camera: the video names
    that itself, and a sidecar's word must not count as evidence of a camera original.)"""
    path = Path(path)
    if path.stat().st_size > _MAX_XML_BYTES:
        return {}
    try:
        root = ElementTree.fromstring(path.read_bytes())
    except ElementTree.ParseError:
        return {}
    for element in root.iter():
        # Compared without the namespace, which changes with the format's version.
        if element.tag.rpartition("}")[2] == "Item" and (
            element.get("name") == "CaptureGammaEquation"
        ):
            gamma = element.get("value", "").strip()[:_MAX_FACT_CHARS]
            found = _SONY_LOG.search(gamma.lower())
            return {
                "capture_gamma": gamma,
                **({"log_profile": f"S-Log{found[1]}"} if found else {}),
            }
    return {}


def sidecar_facts(path: str | Path) -> dict[str, Any]:
    """What the sidecars next to a video say about it: relative_altitude_m (the highest, from a
    DJI .SRT) and Sony's capture_gamma and log_profile. Absent facts are left out."""
    path = Path(path)
    facts: dict[str, Any] = {}
    srt = next((p for p in _siblings(path, ".srt") if p.is_file()), None)
    if srt is not None and (altitudes := srt_altitudes(srt)):
        facts["relative_altitude_m"] = max(altitudes)
    sony = [path.with_name(f"{path.stem}M01{s}") for s in (".XML", ".xml")]
    xml = next((p for p in (*sony, *_siblings(path, ".xml")) if p.is_file()), None)
    if xml is not None:
        facts.update(sony_clip_facts(xml))
    return facts


def checked_sidecar_facts(facts: Any) -> dict[str, Any]:
    """Sidecar facts sent by a client, checked: known names, the right types, sane sizes.
    Raises ValueError saying what is wrong."""
    if not isinstance(facts, dict):
        raise ValueError("sidecar facts must be a JSON object")
    unknown = sorted(set(facts) - set(SIDECAR_FACTS))
    if unknown:
        raise ValueError(f"unknown sidecar facts: {', '.join(unknown)[:200]}")
    checked: dict[str, Any] = {}
    for key, value in facts.items():
        if SIDECAR_FACTS[key] is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            if not math.isfinite(value) or abs(value) > _MAX_ALTITUDE_M:
                raise ValueError(f"{key} is not a plausible altitude")
            checked[key] = float(value)
        else:
            if not isinstance(value, str) or len(value) > _MAX_FACT_CHARS:
                raise ValueError(f"{key} must be text of at most {_MAX_FACT_CHARS} characters")
            checked[key] = value
    return checked


def vendor_metadata(path: str | Path, sidecar: dict[str, Any] | None = None) -> dict[str, Any]:
    """make, model, transfer (PQ/HLG), hdr, bit_depth, log_profile, capture_gamma, rotation,
    variable_frame_rate and relative_altitude_m. Unknown values are None. The sidecars next to
    the file are read (sidecar_facts); an upload has none beside it: its facts come as sidecar.

    client_facts names the facts that come from sidecars, not from the video: on the server the
    uploader's client read and sent them, and nothing can check them against the footage."""
    from pymediainfo import MediaInfo

    info = MediaInfo.parse(str(path))
    general = info.general_tracks[0].to_data() if info.general_tracks else {}
    video = info.video_tracks[0].to_data() if info.video_tracks else {}
    transfer = _TRANSFER.get(str(video.get("transfer_characteristics", "")).lower())
    texts = " ".join(str(v) for v in (*general.values(), *video.values())).lower()
    log = next((name for key, name in _LOG_PROFILES.items() if key in texts), None)
    facts = {**sidecar_facts(path), **(sidecar or {})}
    # The video's own log profile wins over a sidecar's.
    client = [k for k in sorted(facts) if k in SIDECAR_FACTS and not (k == "log_profile" and log)]
    return {
        "make": _first(general, _MAKE_KEYS),
        "model": _first(general, _MODEL_KEYS),
        "transfer": transfer,
        "hdr": bool(transfer or video.get("hdr_format")),
        "bit_depth": _int(video.get("bit_depth")),
        "log_profile": log or facts.get("log_profile"),
        "capture_gamma": facts.get("capture_gamma"),  # Sony's name for its picture profile
        "rotation": _int(float(video["rotation"])) if video.get("rotation") else 0,
        "variable_frame_rate": video.get("frame_rate_mode") == "VFR",
        "relative_altitude_m": facts.get("relative_altitude_m"),
        "client_facts": client,
    }


def _siblings(path: Path, suffix: str) -> list[Path]:
    return [path.with_suffix(suffix), path.with_suffix(suffix.upper())]


def _first(track: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((str(track[k]).strip() for k in keys if track.get(k)), None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
