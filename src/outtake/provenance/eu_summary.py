"""This delivery's contribution to the buyer's EU AI Act training-content summary (Art. 53(1)(d)),
keyed by the Commission template's sections and validated by the JSON Schema in schemas/."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).parent / "schemas" / "eu_ai_act_summary.schema.json"
TEMPLATE = "EU AI Act Art. 53(1)(d) public summary of training content, Commission template of "
TEMPLATE += "24 July 2025 (C(2025) 8311)"
PROTOCOLS = [
    "creator-set terms per clip (six uses, allowed / not allowed / constrained)",
    "C2PA cawg.training-mining assertion in every media file",
    "IPTC/PLUS plus:DataMining in every file's XMP",
    "ODRL 2.2 policy (license.odrl.json, W3C TDMRep profile for data mining)",
]

ACQUISITION_BASIS = "capture dates recorded in the files, upload dates where none is recorded"
MAX_TAGS = 30
_GENERIC = {"video": "unpublished camera footage", "image": "unpublished photographs"}


def _video_bin(hours: float) -> str:
    if hours < 10_000:
        return "< 10,000 hours"
    return "10,000 hours – 1 million hours" if hours <= 1_000_000 else "> 1 million hours"


def _image_bin(count: int) -> str:
    if count < 1_000_000:
        return "< 1 million images"
    return "1 million – 1 billion images" if count <= 1_000_000_000 else "> 1 billion images"


def content_types(kind: str, tag_lists: list[list[str]]) -> list[str]:
    """Types of content of one modality: what it is, then its items' tags, the most frequent
    first (ties alphabetically), as words ("static_camera" → "static camera")."""
    counts = Counter(tag for tags in tag_lists for tag in set(tags))
    ranked = sorted(counts, key=lambda tag: (-counts[tag], tag))[:MAX_TAGS]
    return [_GENERIC[kind], *(tag.replace("_", " ") for tag in ranked)]


def summary(
    *,
    license_id: str,
    delivery_id: str,
    version: int,
    date: str,
    videos: int,
    video_seconds: float,
    images: int,
    tags: dict[str, list[list[str]]],
    acquired: tuple[dt.date, dt.date],
    creators: int,
) -> dict[str, Any]:
    """tags: per modality ("video", "image"), each delivered item's tags; acquired: the
    earliest and latest date its items were captured (or uploaded, where the file records no
    capture date)."""
    modalities: dict[str, Any] = {}
    if videos:
        hours = round(video_seconds / 3600, 4)
        modalities["video"] = {
            "size_bin": _video_bin(hours),
            "items": videos,
            "hours": hours,
            "content_types": content_types("video", tags.get("video", [])),
        }
    if images:
        modalities["image"] = {
            "size_bin": _image_bin(images),
            "items": images,
            "content_types": content_types("image", tags.get("image", [])),
        }
    data = {
        "template": TEMPLATE,
        "delivery": {
            "license_id": license_id,
            "delivery_id": delivery_id,
            "version": version,
            "date": date,
        },
        "1.3": {
            "modalities": modalities,
            "acquisition_period": {
                "earliest": f"{acquired[0]:%m/%Y}",
                "latest": f"{acquired[1]:%m/%Y}",
                "basis": ACQUISITION_BASIS,
            },
            "collection_continues": False,
            "other_characteristics": "Unpublished footage licensed from its creators; people "
            "shown are released or incidental; no personal data beyond that.",
        },
        "2.2.1": {
            "commercially_licensed": True,
            "modalities": sorted(modalities),
            "licensor": "Outtake, as agent for the creators",
            "rightsholders": max(creators, 1),
        },
        "3.1": {
            "opt_outs_respected": True,
            "measures": "Only clips whose creators granted the licensed uses were sold; revoked "
            "clips are listed for deletion in later delivery versions (removals.json).",
            "protocols": PROTOCOLS,
        },
    }
    validate(data)
    return data


def validate(data: dict[str, Any]) -> None:
    # Imported here: jsonschema costs ~0.4 s at import, which the web process never needs.
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())


def markdown(data: dict[str, Any]) -> str:
    period = data["1.3"]["acquisition_period"]
    lines = [
        "# Training-content summary: this delivery's contribution",
        "",
        f"Template: {data['template']}.",
        f"License {data['delivery']['license_id']}, delivery version {data['delivery']['version']}"
        f" of {data['delivery']['date']}.",
        "",
        "## 1.3 Modalities and size",
    ]
    for name, m in data["1.3"]["modalities"].items():
        lines.append(
            f"- {name}: {m['items']} item(s), {m['size_bin']}; content: "
            + ", ".join(m["content_types"])
        )
    lines += [
        f"- Acquisition period: {period['earliest']} to {period['latest']} "
        f"({period['basis']}); collection continues: "
        f"{'yes' if data['1.3']['collection_continues'] else 'no'}.",
        "",
        "## 2.2.1 Data commercially licensed from rightsholders or their representatives",
        f"Yes: {', '.join(data['2.2.1']['modalities'])}, licensed from "
        f"{data['2.2.1']['licensor']} ({data['2.2.1']['rightsholders']} rightsholder(s)).",
        "",
        "## 3.1 Respect of text-and-data-mining opt-outs",
        data["3.1"]["measures"],
        "",
        *[f"- {p}" for p in data["3.1"]["protocols"]],
        "",
    ]
    return "\n".join(lines)
