"""Authenticity evidence of one file: facts a reviewer or buyer weighs, never a verdict.

Three kinds of fact: signs of a camera original (the camera's make, model and creation time,
vendor metadata, the container's brand and the software that wrote it), an embedded C2PA
manifest with its validation state, and what the file says about its own source: the IPTC
digital source type, in XMP or in a C2PA action, and the generation parameters image
generators leave in PNG text chunks. Only the last can flag a file as AI-generated, because
the file itself says so; then Outtake does not sell it as camera footage.

C2PA states (c2pa-python): "Valid" means the manifest is intact and its signature checks,
without saying who the signer is trusted to be (uploads come from anywhere, so no trust list
applies); "Invalid" means the file or manifest was altered after signing; None means there is
no manifest.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

VERSION = 1
IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types that mean a model or algorithm made the content (IPTC NewsCodes).
AI_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
        "compositeSynthetic",
    }
)
AI_PROBLEM_CODE = "ai_generated"
# XMP sits near the start of photos and often at the end of videos (a moov/uuid box).
_XMP_WINDOW = 4 << 20
_XMP_PACKET = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.DOTALL)
_XMP_SOURCE_TYPE = re.compile(rb"DigitalSourceType(?:\s*=\s*[\"']|\s*>\s*)([^\"'<\s]+)")
# Software that writes a file anew: the file is then an export or re-encode, not the
# camera's own file (a fact about the file, not about the pictures).
_SOFTWARE_KEYS = ("encoder", "software", "com.apple.quicktime.software", "handler_name")
_REWRITERS = re.compile(r"\b(lavf|lavc|ffmpeg|handbrake|premiere|davinci|final cut)", re.I)
_EXIF_SOFTWARE = 0x0131
_C2PA_MIMES = {"image/jpeg", "image/png", "image/webp", "image/tiff", "video/mp4"}
_C2PA_MIMES |= {"video/quicktime", "image/heic", "image/avif"}


def source_type_name(uri: str) -> str:
    """The IPTC code of a digital source type URI (its last path part)."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def evidence(path: str | Path, info: dict[str, Any]) -> dict[str, Any]:
    """The authenticity facts of a probed file (info is media.probe's result, with the
    "vendor" metadata for videos when analysis added it). JSON-serialisable."""
    path = Path(path)
    tags, text = _file_tags(path, info.get("kind"))
    container = _container(tags, info)
    c2pa = read_c2pa(path, info.get("mime"))
    xmp_types = xmp_source_types(path)
    generator = _generator(text)
    vendor = info.get("vendor") or {}
    camera = {
        "make": info.get("camera_make") or vendor.get("make"),
        "model": info.get("camera_model") or vendor.get("model"),
        "creation_time": info.get("creation_time"),
        "log_profile": vendor.get("log_profile"),
        # A profile only the uploader's client read from a sidecar is its word, not the file's.
        "log_profile_from_client": "log_profile" in vendor.get("client_facts", []),
    }
    found = {
        "version": VERSION,
        "camera": camera,
        "container": container,
        "c2pa": c2pa,
        "digital_source_types": sorted({*xmp_types, *(c2pa or {}).get("source_types", [])}),
        "generator_metadata": generator,
    }
    found["signs"] = camera_signs(found)
    found["ai_reasons"] = ai_reasons(found, xmp_types)
    found["ai_generated"] = bool(found["ai_reasons"])
    return found


def camera_signs(found: dict[str, Any]) -> list[str]:
    """Plain sentences for people: what the file shows about where it comes from."""
    camera, container = found["camera"], found["container"]
    signs = []
    if camera["make"] or camera["model"]:
        name = " ".join(p for p in (camera["make"], camera["model"]) if p)
        signs.append(f"camera recorded in the file: {name}")
    else:
        signs.append("no camera make or model in the file")
    if camera["creation_time"]:
        signs.append(f"creation time recorded: {camera['creation_time']}")
    else:
        signs.append("no creation time in the file")
    if camera["log_profile"] and camera.get("log_profile_from_client"):
        signs.append(
            f"camera log profile sent by the uploader, from a sidecar: {camera['log_profile']}"
        )
    elif camera["log_profile"]:
        signs.append(f"camera log profile: {camera['log_profile']}")
    if container.get("software"):
        rewritten = " (written by editing or encoding software)" if container["rewritten"] else ""
        signs.append(f"software tag: {container['software']}{rewritten}")
    c2pa = found["c2pa"]
    if c2pa:
        tool = f", made with {c2pa['claim_generator']}" if c2pa["claim_generator"] else ""
        signs.append(f"C2PA manifest: {c2pa['state']}{tool}")
    else:
        signs.append("no C2PA manifest")
    return signs


def ai_reasons(found: dict[str, Any], xmp_types: list[str]) -> list[str]:
    """Why the file says it is AI-generated (empty when it does not)."""
    reasons = []
    c2pa = found["c2pa"] or {}
    for uri in c2pa.get("source_types", []):
        if source_type_name(uri) in AI_SOURCE_TYPES:
            reasons.append(
                f"its C2PA manifest ({c2pa['state']}) gives the digital source type "
                f"{source_type_name(uri)}"
            )
    for uri in xmp_types:
        if source_type_name(uri) in AI_SOURCE_TYPES:
            reasons.append(
                f"its XMP metadata gives the digital source type {source_type_name(uri)}"
            )
    if found["generator_metadata"]:
        reasons.append(f"it carries image generator settings ({found['generator_metadata']})")
    return reasons


def ai_problem(found: dict[str, Any]) -> dict[str, str] | None:
    """A failing problem (in the analysis' problem format) for an AI-generated file."""
    if not found.get("ai_generated"):
        return None
    return {
        "code": AI_PROBLEM_CODE,
        "severity": "fail",
        "reason": "not sold as camera footage: the file says it is AI-generated ("
        + "; ".join(found["ai_reasons"])
        + ")",
    }


def read_c2pa(path: Path, mime: str | None) -> dict[str, Any] | None:
    """The active C2PA manifest's facts, or None when the file has none (or c2pa cannot read
    this kind of file)."""
    from outtake.provenance.c2pa_sign import read_state

    if mime not in _C2PA_MIMES:
        return None
    with path.open("rb") as stream:
        state, manifest, failures = read_state(stream, mime, None)
    if manifest is None:
        return None
    signature = manifest.get("signature_info") or {}
    generators = manifest.get("claim_generator_info") or []
    actions = [
        action
        for a in manifest.get("assertions", [])
        if a.get("label", "").startswith("c2pa.actions")
        for action in (a.get("data") or {}).get("actions", [])
    ]
    return {
        "state": state,
        "failures": failures[:20],
        "signer": _short(signature.get("common_name") or signature.get("issuer")),
        "issuer": _short(signature.get("issuer")),
        "signed_at": _short(signature.get("time")),
        "claim_generator": _short(
            ", ".join(str(g.get("name", "")) for g in generators if isinstance(g, dict))
        ),
        "title": _short(manifest.get("title")),
        "actions": [_short(a.get("action")) for a in actions][:20],
        "source_types": sorted(
            {_short(a["digitalSourceType"]) for a in actions if a.get("digitalSourceType")}
        ),
    }


def xmp_source_types(path: Path) -> list[str]:
    """IPTC DigitalSourceType URIs in the XMP packets at the start or end of the file."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        windows = [fh.read(_XMP_WINDOW)]
        if size > _XMP_WINDOW:
            fh.seek(max(_XMP_WINDOW, size - _XMP_WINDOW))
            windows.append(fh.read())
    found = set()
    for window in windows:
        for packet in _XMP_PACKET.findall(window):
            for value in _XMP_SOURCE_TYPE.findall(packet):
                found.add(_short(value.decode("utf-8", "replace")))
    return sorted(found)


def _file_tags(path: Path, kind: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """A video's container and first video stream tags, or a photo's EXIF software tag and
    text chunks. Empty when they cannot be read: evidence never refuses a file."""
    import av
    from PIL import Image

    tags: dict[str, str] = {}
    try:
        if kind == "video":
            with av.open(str(path)) as container:
                tags = {k.lower(): v for k, v in container.metadata.items()}
                for stream in container.streams.video[:1]:
                    tags.update(
                        {k.lower(): v for k, v in stream.metadata.items() if k.lower() not in tags}
                    )
            return tags, {}
        with Image.open(path) as image:
            software = image.getexif().get(_EXIF_SOFTWARE)
            if isinstance(software, str) and software.strip("\x00 "):
                tags["software"] = software.strip("\x00 ")
            return tags, {k: v for k, v in image.info.items() if isinstance(v, str)}
    except (OSError, ValueError, SyntaxError, EOFError, av.FFmpegError):
        return {}, {}


def _container(tags: dict[str, str], info: dict[str, Any]) -> dict[str, Any]:
    software = next((tags[k] for k in _SOFTWARE_KEYS if tags.get(k)), None)
    if software == "VideoHandler":  # FFmpeg's default handler name, not a program name
        software = None
    return {
        "format": info.get("container"),
        "brand": _short(tags.get("major_brand")),
        "compatible_brands": _short(tags.get("compatible_brands")),
        "software": _short(software),
        "rewritten": bool(software and _REWRITERS.search(software)),
    }


def _generator(text: dict[str, str]) -> str | None:
    """Which PNG text chunks of image generators a photo has (Stable Diffusion web UIs write
    "parameters" with steps and sampler; ComfyUI writes "prompt" and "workflow")."""
    parameters = text.get("parameters", "")
    if "Steps:" in parameters and "Sampler:" in parameters:
        return "PNG text 'parameters' with steps and sampler"
    if "prompt" in text and "workflow" in text:
        return "PNG text 'prompt' and 'workflow'"
    return None


def _short(value: Any, limit: int = 200) -> str | None:
    """A metadata string cut to a length fit for a page (files may carry anything)."""
    if value is None or value == "":
        return None
    return str(value).strip()[:limit]


def annotate(analysis: dict[str, Any], path: str | Path, info: dict[str, Any]) -> None:
    """Add the file's evidence to an analysis result as "authenticity"; every shot of an
    AI-generated file gets a failing problem, so pricing makes it unsellable with the reason."""
    found = analysis["authenticity"] = evidence(path, info)
    problem = ai_problem(found)
    if problem is not None:
        for shot in analysis.get("shots", []):
            shot.setdefault("problems", []).append(problem)


# Who signed a manifest and its title (often the original file name) may name the creator.
_PRIVATE_C2PA = ("signer", "issuer", "title")


def for_buyers(found: dict[str, Any]) -> dict[str, Any]:
    """The evidence without what could name the creator: buyers know creators by pseudonym."""
    if not found.get("c2pa"):
        return found
    c2pa = {k: v for k, v in found["c2pa"].items() if k not in _PRIVATE_C2PA}
    return {**found, "c2pa": c2pa}
