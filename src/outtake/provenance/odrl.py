"""A dataset license as an ODRL 2.2 Agreement in JSON-LD, built from the same LicenseDocument
as the PDF.

Permissions are the granted uses (action from core.terms.USES, purpose = the use code, term and
territory as constraints); prohibitions are the creator protections (action "use" for the
protected purpose); obligations are the payment and the revocation notice. The policy declares
that prohibitions win a conflict, as the contract says ("whatever else this agreement permits").

The ODRL context is kept in contexts/odrl.jsonld and served to pyld by a local document loader:
nothing is fetched, and expansion is how tests prove no term is silently dropped.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from outtake.core.terms import USES
from outtake.provenance.contract import PLATFORM, ClipLine, LicenseDocument

ODRL_CONTEXT_URL = "http://www.w3.org/ns/odrl.jsonld"
TDMREP = "http://www.w3.org/ns/tdmrep#"
TDMREP_PROFILE = "http://www.w3.org/ns/tdmrep"
CONTEXT_FILE = Path(__file__).parent / "contexts" / "odrl.jsonld"

# ODRL's examples name currencies by their DBpedia resource; one per currency core.money prices in.
CURRENCY_IRIS = {
    "USD": "http://dbpedia.org/resource/United_States_dollar",
    "EUR": "http://dbpedia.org/resource/Euro",
    "GBP": "http://dbpedia.org/resource/Pound_sterling",
    "JPY": "http://dbpedia.org/resource/Japanese_yen",
    "CHF": "http://dbpedia.org/resource/Swiss_franc",
    "CAD": "http://dbpedia.org/resource/Canadian_dollar",
    "AUD": "http://dbpedia.org/resource/Australian_dollar",
}


def _urn(value: str) -> str:
    """Licenses, clips and organisations have UUIDs: location-independent identifiers for them."""
    return uuid.UUID(str(value)).urn


def _clips_uid(doc: LicenseDocument, subset: tuple[str, ...] = ()) -> str:
    name = "clips" if not subset else "clips:" + ",".join(sorted(subset))
    return uuid.uuid5(uuid.UUID(doc.license_id), name).urn


def _constraint(left: str, operator: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def _scope(doc: LicenseDocument) -> list[dict[str, Any]]:
    """Term and territory: the constraints every permission carries."""
    scope = []
    if doc.end_date is not None:
        scope.append(
            _constraint(
                "dateTime", "lteq", {"@value": doc.end_date.isoformat(), "@type": "xsd:date"}
            )
        )
    if doc.territory:
        scope.append(_constraint("spatial", "isAnyOf", list(doc.territory)))
    return scope


def build_policy(doc: LicenseDocument, platform_uid: str) -> dict[str, Any]:
    """The ODRL Agreement for a license. platform_uid identifies this Outtake installation
    (its public URL), the assigner acting for the creators."""
    all_clips = _clips_uid(doc)
    # Rules on only some clips (a creator's condition, a protection one creator waived) target a
    # sub-collection; each clip names the collections it is part of.
    subsets: dict[str, tuple[str, ...]] = {}

    def target(clip_ids: tuple[str, ...]) -> Any:
        if len(clip_ids) == len(doc.clips):
            return all_clips
        uid = _clips_uid(doc, clip_ids)
        subsets[uid] = clip_ids
        return {"uid": uid, "@type": "AssetCollection"}

    clauses = doc.constraint_clauses()
    permissions = []
    for code in doc.uses:
        use = USES[code]
        conditioned = {cid for c in clauses if c.use == code for cid in c.clip_ids}
        free = tuple(c.clip_id for c in doc.clips if c.clip_id not in conditioned)
        groups = [(free, "")] if free else []
        groups += [
            (c.clip_ids, f"Creator's condition, accepted explicitly by the licensee: {c.text}")
            for c in clauses
            if c.use == code
        ]
        for clip_ids, condition in groups:
            permission: dict[str, Any] = {
                "target": target(clip_ids),
                "action": use.odrl_action,
                "dct:title": use.label,
                "constraint": [_constraint("purpose", "eq", code), *_scope(doc)],
            }
            if condition:
                permission["dct:description"] = condition
            permissions.append(permission)

    texts = doc.protection_texts()
    prohibitions = [
        {
            "target": target(clip_ids),
            "action": "use",
            "dct:identifier": code,
            "dct:description": texts[code],
            "constraint": [_constraint("purpose", "eq", code.removeprefix("no_"))],
        }
        for code, clip_ids in doc.protections().items()
    ]

    payment = {
        "target": all_clips,
        "action": [
            {
                "rdf:value": {"@id": "odrl:compensate"},
                "refinement": [
                    {
                        **_constraint(
                            "payAmount",
                            "eq",
                            {"@value": str(doc.total.to_decimal()), "@type": "xsd:decimal"},
                        ),
                        "unit": {"@id": CURRENCY_IRIS[doc.currency]},
                    }
                ],
            }
        ],
        "compensatedParty": platform_uid,
        "dct:description": f"Pay {doc.total} to {PLATFORM} as agent for the creators "
        "before delivery.",
    }
    notice = {
        "target": all_clips,
        "action": "inform",
        "informedParty": platform_uid,
        "dct:description": _notice_text(doc),
    }

    clip_assets = [
        {
            "uid": _urn(clip.clip_id),
            "@type": "Asset",
            "partOf": [all_clips, *(uid for uid, ids in subsets.items() if clip.clip_id in ids)],
            "dct:identifier": clip.clip_id,
            **_cut_from(clip),
            "dct:creator": clip.creator,
        }
        for clip in doc.clips
    ]
    # The whole collection is described once, in the first rule naming it (the payment does).
    first = next(r for r in [*permissions, *prohibitions, payment] if r["target"] == all_clips)
    first["target"] = {
        "uid": all_clips,
        "@type": "AssetCollection",
        "dct:title": f"The {len(doc.clips)} clips licensed by {doc.license_id}",
        "dct:hasPart": clip_assets,
    }

    policy: dict[str, Any] = {
        "@context": [ODRL_CONTEXT_URL, {"tdm": TDMREP}],
        "@type": "Agreement",
        "uid": _urn(doc.license_id),
        "conflict": "prohibit",
        "dct:title": f"Dataset license {doc.license_id}",
        "dct:issued": {"@value": doc.date.isoformat(), "@type": "xsd:date"},
        "assigner": {
            "uid": platform_uid,
            "@type": "Party",
            "vcard:fn": PLATFORM,
            "dct:description": "Agent for the creators of the licensed clips: "
            + ", ".join(doc.creators),
        },
        "assignee": {"uid": _urn(doc.buyer_id), "@type": "Party", "vcard:fn": doc.buyer},
        "permission": permissions,
        "prohibition": prohibitions,
        "obligation": [payment, notice],
    }
    if any(USES[c].odrl_action.startswith("tdm:") for c in doc.uses):
        policy["profile"] = TDMREP_PROFILE
    return policy


def _cut_from(clip: ClipLine) -> dict[str, Any]:
    """A clip as the original upload it is cut from (by hash) and its in and out times there
    (schema.org Clip offsets, seconds). The delivered file's own hash is in the package's
    MANIFEST.sha256, made after the license."""
    cut: dict[str, Any] = {
        "dct:source": {
            "schema:sha256": clip.original_sha256,
            "dct:description": "The original file the creator uploaded; the clip is cut from it.",
        }
    }
    if clip.start_s is not None and clip.end_s is not None:
        cut["schema:startOffset"] = clip.start_s
        cut["schema:endOffset"] = clip.end_s
    return cut


def _notice_text(doc: LicenseDocument) -> str:
    text = (
        "Acknowledge every notice of a creator's revocation or a person's removal request; "
        "no further deliveries of the affected clips are made."
    )
    if doc.training_stop_notice_days is not None:
        text += (
            " The affected clips are not used in any training run started more than "
            f"{doc.training_stop_notice_days} days after the notice."
        )
    return text


def load_local_document(url: str, options: dict | None = None) -> dict[str, Any]:
    """A pyld document loader that serves the ODRL context from the repository and refuses
    anything else, so expansion never touches the network."""
    if url.rstrip("/") not in (ODRL_CONTEXT_URL, ODRL_CONTEXT_URL.replace("http:", "https:")):
        raise ValueError(f"no local copy of {url}")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(CONTEXT_FILE.read_text(encoding="utf-8")),
    }


def expand(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy in expanded JSON-LD (full IRIs), offline. No base IRI: pyld would otherwise
    resolve an unmapped value against a made-up base and hide the mistake; relative, it shows."""
    from pyld import jsonld

    return jsonld.expand(policy, {"documentLoader": load_local_document, "base": None})
