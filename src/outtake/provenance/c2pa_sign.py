"""C2PA manifests on delivered media, signed by Outtake's "c2pa" certificate (pure Python).

The certificate is a leaf of the installation's CA, separate from the package and PDF seal
certificates (FIELD-NOTES: end-entity P-256, digitalSignature, critical EKU emailProtection).
No timestamp server and no network: `ta_url` is None.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from outtake import __version__
from outtake.core.terms import ALLOWED, CONSTRAINED, USES
from outtake.provenance.ca import Leaf, ensure_root, issue_leaf

C2PA_PURPOSE = "c2pa"
LICENSE_LABEL = "org.outtake.license"
# The license assertion's record of the original (original_record), which Signer.sign follows.
ORIGINAL_KEY = "original"
MIME = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
_CAWG_STATE = {ALLOWED: "allowed", CONSTRAINED: "constrained"}
# Thumbnails would decode every photo again; buyers have the file itself.
_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
# Parse the original's manifests without validating them: validation hashes the whole file.
_PARSE_ONLY = {"verify": {"verify_after_reading": False}}
# What C2PA needs of the original's manifests to keep the chain valid (hard bindings, actions
# and ingredients cannot be redacted); every other assertion — Exif with serials and GPS,
# metadata, CAWG identity, creative-work authors, thumbnails of the whole original — is.
_KEPT = ("c2pa.hash.", "c2pa.ingredient")
_KEPT_EXACT = {"c2pa.actions", "c2pa.actions.v2"}


def issue_c2pa_certificate(pki: Path) -> Leaf:
    """The installation's C2PA signing certificate (issued once, then reused)."""
    return issue_leaf(pki, C2PA_PURPOSE)


def training_mining(states: dict[str, dict]) -> dict[str, Any]:
    """`cawg.training-mining` entries from per-use states; uses not granted are notAllowed."""
    entries = {}
    for code, use in USES.items():
        if use.cawg is None:
            continue
        state = states[code]
        entry = {"use": _CAWG_STATE.get(state["state"], "notAllowed")}
        if state["state"] == CONSTRAINED:
            entry["constraint_info"] = state["constraint"]
        entries[use.cawg] = entry
    return {"entries": entries}


def manifest_definition(
    *,
    title: str,
    edits: list[dict[str, Any]],
    states: dict[str, dict],
    license_assertion: dict[str, Any],
) -> dict[str, Any]:
    """The manifest: opened (the original, as parent ingredient), then what was done to it."""
    actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}, *edits]
    return {
        "claim_generator_info": [{"name": "outtake", "version": __version__}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": "cawg.training-mining", "data": training_mining(states)},
            {"label": LICENSE_LABEL, "data": license_assertion},
        ],
    }


def original_record(sha256: str, c2pa_state: str | None, *, carry_manifest: bool) -> dict[str, Any]:
    """What the license assertion says of the original: its SHA-256 and, where it had a C2PA
    manifest, the validation state read at ingest — never who signed it. That manifest travels
    as the parent ingredient's only when the creator opted in (carry_manifest): even redacted,
    its signed title (often the camera's file name), the titles of earlier ingredients, the
    software that made it and the signer's certificate (perhaps naming the camera's serial)
    stay as their signer wrote them."""
    manifest = None
    if c2pa_state is not None:
        manifest = {"validation_state": c2pa_state, "carried": carry_manifest}
    return {"sha256": sha256, "c2pa_manifest": manifest}


def _kept(label: str) -> bool:
    base = label.split("__", 1)[0]  # a repeated assertion is "label__2"
    return base in _KEPT_EXACT or base.startswith(_KEPT)


def private_assertions(original: BinaryIO, mime: str) -> list[str]:
    """JUMBF URIs of the assertions to redact from the original's manifests (all of them,
    the parent's ancestors too): everything but what the chain of provenance needs."""
    start = original.tell()
    try:
        reader = c2pa.Reader(mime, original, context=c2pa.Context.from_dict(_PARSE_ONLY))
    except c2pa.C2paError:  # no manifest, or a format c2pa does not read: nothing to redact
        return []
    finally:
        original.seek(start)
    with reader:
        store = json.loads(reader.detailed_json())
    return [
        f"self#jumbf=c2pa/{label}/c2pa.assertions/{name}"
        for label, manifest in store.get("manifests", {}).items()
        for name in manifest.get("assertion_store", {})
        if not _kept(name)
    ]


class Signer:
    """Signs media streams; one per delivery build, reused for every file."""

    def __init__(self, pki: Path) -> None:
        leaf = issue_c2pa_certificate(pki)
        root = ensure_root(pki)
        self.__setstate__((leaf.cert_pem + root.cert_path.read_bytes(), leaf.key_pem))

    # A packaging worker process gets the Signer pickled: the certificate chain and key, from
    # which it builds its own c2pa signer once.
    def __getstate__(self) -> tuple[bytes, bytes]:
        return self._chain, self._key

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self._chain, self._key = state
        self._context = c2pa.Context.from_dict(_SETTINGS)
        self._signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(b"es256", self._chain, self._key, None)
        )

    def sign(
        self,
        manifest: dict[str, Any],
        mime: str,
        source: BinaryIO,
        dest: BinaryIO,
        *,
        original: BinaryIO,
        original_mime: str,
        original_title: str,
    ) -> None:
        """Write source with the manifest embedded into dest, in one sequential pass.

        The original is the parent ingredient. Unless the license assertion's record of it
        (original_record) says its own manifest is carried, the ingredient is its title and
        SHA-256 alone. When it is carried, c2pa reads it from the original so the chain of
        provenance continues, with the assertions that could carry private data (camera
        serials, GPS, names) redacted; the signed claims themselves cannot be redacted.
        """
        record = (assertion(manifest, LICENSE_LABEL) or {}).get(ORIGINAL_KEY) or {}
        carried = bool((record.get("c2pa_manifest") or {}).get("carried"))
        ingredient = {"title": original_title, "relationship": "parentOf", "label": "original"}
        if carried:
            redactions = private_assertions(original, original_mime)
            if redactions:
                manifest = {**manifest, "redactions": redactions}
        else:
            ingredient["format"] = original_mime
            if record.get("sha256"):
                ingredient["instance_id"] = f"sha256:{record['sha256']}"
            manifest = {**manifest, "ingredients": [ingredient]}
        with c2pa.Builder(manifest, context=self._context) as builder:
            if carried:
                builder.add_ingredient(ingredient, original_mime, original)
            builder.sign(self._signer, mime, source, dest)


def read_state(
    data: BinaryIO | bytes, mime: str, root_pem: bytes | None
) -> tuple[str, dict[str, Any] | None, list[str]]:
    """(validation state, active manifest, failure codes) with the root as trust anchor
    (None: check integrity only).

    "Trusted" means signed by a certificate chained to the root and intact; "Valid" intact but
    not chained to it; "Invalid" altered. A file without a manifest reports "None".
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    config: dict[str, Any] = {"verify": {"verify_trust": root_pem is not None}}
    if root_pem is not None:
        config["trust"] = {"trust_anchors": root_pem.decode()}
    context = c2pa.Context.from_dict(config)
    try:
        reader = c2pa.Reader(mime, stream, context=context)
    except c2pa.C2paError as exc:
        return "None", None, [str(exc)[:200]]
    with reader:
        store = json.loads(reader.json())
        active = store.get("manifests", {}).get(store.get("active_manifest"))
        results = reader.get_validation_results() or {}
        failures = [
            f["code"] for f in results.get("activeManifest", {}).get("failure", []) if "code" in f
        ]
        return reader.get_validation_state() or "None", active, failures


def assertion(manifest: dict[str, Any] | None, label: str) -> Any:
    for a in (manifest or {}).get("assertions", []):
        if a.get("label") == label:
            return a.get("data")
    return None
