"""Tags a buyer searches by, derived from a shot's results and the file's probe.

Applied after every step has finished, since a tag may need several of them (an interview is
speech and an identifiable face). Results of steps that are not in the pipeline are simply
absent, and so are their tags. Creator tags are not made here: they stay on the asset, marked
as the creator's.

What other steps are read from a shot: people.identifiable/incidental (people step),
quality.low_light.value and quality.black.value (quality step), motion.camera "static" or
"moving" (motion step), speech.share, the share of the shot that is speech (speech step),
audio.silent (audio step). From the probe: width, height, fps, color_transfer, has_audio,
camera_make/camera_model, and vendor.make/model/relative_altitude_m (vendor.py).
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


def is_aerial(info: dict[str, Any]) -> bool:
    vendor = info.get("vendor") or {}
    altitude = vendor.get("relative_altitude_m")
    if altitude is not None and altitude >= AERIAL_RELATIVE_ALTITUDE_M:
        return True
    make = (vendor.get("make") or info.get("camera_make") or "").lower()
    model = (vendor.get("model") or info.get("camera_model") or "").lower()
    return make.startswith("dji") and not any(word in model for word in _HANDHELD_DJI)


def shot_tags(shot: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """The shot's tags: those steps gave it, plus those that follow from all results."""
    tags = set(shot.get("tags", []))
    facts = ClipFacts(
        kind=info.get("kind", "video"),
        width=info.get("width") or 0,
        height=info.get("height") or 0,
        fps=info.get("fps"),
        color_transfer=info.get("color_transfer"),
    )
    tags |= derived_tags(facts)
    if info.get("kind") == "video" and is_aerial(info):
        tags.add("aerial")
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
