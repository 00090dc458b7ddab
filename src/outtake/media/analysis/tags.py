"""Tags a buyer searches by, derived from a shot's results and the file's probe.

Applied after every step has finished, since a tag may need several of them (an interview is
speech and an identifiable face). Results of steps that are not in the pipeline are simply
absent, and so are their tags. Creator tags are not made here: they stay on the asset, marked
as the creator's.

What other steps are read from a shot: people.identifiable/incidental (people step),
quality.low_light.value and quality.black.value (quality step), motion.camera "static" or
"moving" (motion step), speech.share, the share of the shot that is speech (speech step),
audio.silent (audio step). From the probe: width, height, fps, color_transfer, has_audio,
camera_make/camera_model, gps.alt, and vendor.make/model/relative_altitude_m/log_profile
(vendor.py). aerial and log may rest on facts the uploader's client sent from camera sidecars
(vendor.client_facts); client_tags() names those, and analysis records them as the probe's
client_tags, which the package shows beside the tags.
"""

from __future__ import annotations

from typing import Any

from outtake.core.pricing import ClipFacts, derived_tags

# Night: dark on average (mean grey level, 0–255) but not black frames, which are a defect.
NIGHT_MEAN = 60
NIGHT_MAX_BLACK = 0.5
SPEECH_SHARE = 0.2  # of the shot: less is a word or two over B-roll
INTERVIEW_SHARE = 0.5
AERIAL_RELATIVE_ALTITUDE_M = 20
# DJI makes drones and also hand-held cameras, which are not aerial footage.
_HANDHELD_DJI = ("osmo", "pocket", "action", "ronin")


def _value(shot: dict[str, Any], step: str, key: str) -> Any:
    part = shot.get(step)
    return part.get(key) if isinstance(part, dict) else None


def is_aerial(info: dict[str, Any], *, gps_altitude_m: float | None = None) -> bool:
    """Aerial footage, by this rule:
    1. flown at least AERIAL_RELATIVE_ALTITUDE_M above the take-off point (DJI .SRT), or
    2. shot by a DJI camera that is not one of its hand-held ones, or
    3. only when the altitude above take-off is unknown and gps_altitude_m is set (the
       OUTTAKE_AERIAL_GPS_ALTITUDE_M setting): a GPS altitude (container location or EXIF) of
       at least gps_altitude_m. GPS altitude is above sea level, not above the ground (a hiker
       at 2,000 m is not flying), so this is off unless set."""
    vendor = info.get("vendor") or {}
    altitude = vendor.get("relative_altitude_m")
    if altitude is not None and altitude >= AERIAL_RELATIVE_ALTITUDE_M:
        return True
    make = (vendor.get("make") or info.get("camera_make") or "").lower()
    model = (vendor.get("model") or info.get("camera_model") or "").lower()
    if make.startswith("dji") and not any(word in model for word in _HANDHELD_DJI):
        return True
    gps_altitude = (info.get("gps") or {}).get("alt")
    return (
        altitude is None
        and gps_altitude_m is not None
        and gps_altitude is not None
        and gps_altitude >= gps_altitude_m
    )


def _file_tags(info: dict[str, Any], gps_altitude_m: float | None) -> set[str]:
    tags = set()
    if info.get("kind") == "video" and is_aerial(info, gps_altitude_m=gps_altitude_m):
        tags.add("aerial")
    if (info.get("vendor") or {}).get("log_profile"):
        tags.add("log")  # flat, ungraded footage: some buyers want it, some do not
    return tags


def client_tags(info: dict[str, Any], *, gps_altitude_m: float | None = None) -> list[str]:
    """The tags the file gets only from facts its client supplied (vendor.client_facts: read
    from camera sidecars, not from the video, and unchecked), so a package can say so: they
    are what the file would lose without those facts."""
    vendor = info.get("vendor") or {}
    client = set(vendor.get("client_facts") or ())
    if not client:
        return []
    own = {**info, "vendor": {k: v for k, v in vendor.items() if k not in client}}
    return sorted(_file_tags(info, gps_altitude_m) - _file_tags(own, gps_altitude_m))


def shot_tags(
    shot: dict[str, Any], info: dict[str, Any], *, gps_altitude_m: float | None = None
) -> list[str]:
    """The shot's tags: those steps gave it, plus those that follow from all results
    (gps_altitude_m: see is_aerial)."""
    tags = set(shot.get("tags", []))
    facts = ClipFacts(
        kind=info.get("kind", "video"),
        width=info.get("width") or 0,
        height=info.get("height") or 0,
        fps=info.get("fps"),
        color_transfer=info.get("color_transfer"),
    )
    tags |= derived_tags(facts) | _file_tags(info, gps_altitude_m)
    quality = shot.get("quality") or {}
    brightness = (quality.get("low_light") or {}).get("value")
    black = (quality.get("black") or {}).get("value") or 0
    if brightness is not None and brightness < NIGHT_MEAN and black < NIGHT_MAX_BLACK:
        tags.add("night")
    camera = _value(shot, "motion", "camera")
    if camera in ("static", "moving"):
        tags.add(f"{camera}_camera")
    speech = _value(shot, "speech", "share") or 0
    if speech >= SPEECH_SHARE:
        tags.add("speech")
    if speech >= INTERVIEW_SHARE and _value(shot, "people", "identifiable"):
        tags.add("interview")
    silent = not info.get("has_audio") or _value(shot, "audio", "silent")
    if info.get("kind") == "video" and silent and speech < SPEECH_SHARE:
        tags.add("silent_broll")
    return sorted(tags)
