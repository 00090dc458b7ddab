"""The labels and provenance columns of a delivery's Parquet index (pure: no Django).

They repeat each sample's JSON, so croissant.json's record set (and a lab's query) reads every
label and provenance field from the index without opening a shard. Nested values are JSON text;
lists of names are Parquet lists.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

JSON = "JSON text"
# (column, Arrow type, what it holds)
LABEL_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("technical", pa.string(), f"{JSON}: codec, size, frame rate, duration, coarse location"),
    ("shot", pa.string(), f"{JSON}: the shot's index, start/end times and frames, fps, size"),
    ("quality", pa.string(), f"{JSON}: quality measures (sharpness, exposure, noise, ...)"),
    ("problems", pa.string(), f"{JSON}: quality problems found"),
    (
        "tags",
        pa.list_(pa.string()),
        "content tags found by analysis; those also in technical.client_tags rest on camera "
        "sidecar facts (technical.vendor.client_facts) the uploader's client sent, unchecked",
    ),
    ("creator_tags", pa.list_(pa.string()), "content tags the creator gave"),
    ("tier", pa.string(), "price tier"),
    ("release_status", pa.string(), "people shown and their release status"),
    ("speech", pa.string(), f"{JSON}: speech found (null: none measured)"),
    ("pdq", pa.string(), f"{JSON}: PDQ perceptual hashes of sampled frames"),
    ("terms_id", pa.string(), "fingerprint of the creator's terms the clip was licensed under"),
    ("terms_snapshot", pa.string(), f"{JSON}: those terms, as resolved when licensed"),
    ("granted_uses", pa.string(), f"{JSON}: per use, what this license grants"),
    ("release_ids", pa.list_(pa.string()), "ids of the signed releases of people shown"),
    ("cut", pa.string(), f"{JSON}: where the clip was cut from the original (null: a photo)"),
]

# What the index's other columns hold, for croissant.json.
DESCRIPTIONS = {
    "key": "sample id (the clip id; removals.json names samples by it)",
    "shard": "the WebDataset shard holding the sample",
    "media_sha256": "SHA-256 of the delivered media file",
    "json_sha256": "SHA-256 of the sample's JSON of labels and provenance",
    "creator": "the creator's pseudonym",
    "original_sha256": "SHA-256 of the creator's original file",
    "license_id": "the license the sample is delivered under",
    **{name: text for name, _, text in LABEL_COLUMNS},
}


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def label_columns(labels: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """One index row's LABEL_COLUMNS from a sample's labels and provenance."""
    return {
        "technical": _json(labels.get("technical")),
        "shot": _json(labels.get("shot")),
        "quality": _json(labels.get("quality")),
        "problems": _json(labels.get("problems")),
        "tags": list(labels.get("tags", [])),
        "creator_tags": list(labels.get("creator_tags", [])),
        "tier": labels.get("tier"),
        "release_status": labels.get("people", {}).get("release_status"),
        "speech": _json(labels.get("speech")),
        "pdq": _json(provenance.get("pdq")),
        "terms_id": provenance.get("terms_id"),
        "terms_snapshot": _json(provenance.get("terms_snapshot")),
        "granted_uses": _json(provenance.get("granted_uses")),
        "release_ids": list(provenance.get("release_ids", [])),
        "cut": _json(provenance.get("cut")),
    }
