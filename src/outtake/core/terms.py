"""Rights terms: six uses in three states, creator protections, and their resolution.

USES is the one table mapping each use to its CAWG entry, its PLUS DataMining value and its
ODRL action; every part of Outtake that speaks a vocabulary reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALLOWED = "allowed"
NOT_ALLOWED = "not_allowed"
CONSTRAINED = "constrained"
STATES = (ALLOWED, NOT_ALLOWED, CONSTRAINED)

PLUS = "http://ns.useplus.org/ldf/vocab/"


@dataclass(frozen=True)
class Use:
    code: str
    label: str
    cawg: str | None  # CAWG training-and-data-mining entry, where one exists
    plus_data_mining: str  # PLUS DataMining value when this use is prohibited
    odrl_action: str


USES: dict[str, Use] = {
    u.code: u
    for u in (
        Use(
            "ai_training",
            "AI/ML training",
            "cawg.ai_training",
            PLUS + "DMI-PROHIBITED-AIMLTRAINING",
            "odrl:use",
        ),
        Use(
            "ai_generative_training",
            "Generative AI training",
            "cawg.ai_generative_training",
            PLUS + "DMI-PROHIBITED-GENAIMLTRAINING",
            "odrl:use",
        ),
        Use("data_mining", "Data mining", "cawg.data_mining", PLUS + "DMI-PROHIBITED", "tdm:mine"),
        Use(
            "ai_inference",
            "AI inference input",
            "cawg.ai_inference",
            PLUS + "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
            "odrl:use",
        ),
        Use(
            "fine_tuning", "Fine-tuning", None, PLUS + "DMI-PROHIBITED-AIMLTRAINING", "odrl:modify"
        ),
        Use(
            "evaluation_only",
            "Evaluation and benchmarking only",
            None,
            PLUS + "DMI-PROHIBITED-AIMLTRAINING",
            "odrl:use",
        ),
    )
}

PROTECTIONS: dict[str, str] = {
    "no_digital_replica": "No digital replica of the creator or of any person shown.",
    "no_style_imitation": "No imitation of the creator's style by name.",
    "no_reputational_harm": "No use that harms the reputation of the creator or people shown.",
}


class TermsError(ValueError):
    pass


def default_terms() -> dict[str, Any]:
    """What a new creator grants until they change it: training uses allowed, protections on."""
    return {
        "uses": {code: {"state": ALLOWED, "constraint": ""} for code in USES},
        "protections": {code: True for code in PROTECTIONS},
        "exclusive_allowed": True,
        "refused_buyers": [],
    }


def validate_terms(terms: dict[str, Any]) -> dict[str, Any]:
    """Return a normalised copy of terms or raise TermsError with what is wrong."""
    base = default_terms()
    uses = terms.get("uses", {})
    unknown = set(uses) - set(USES)
    if unknown:
        raise TermsError(f"unknown uses: {', '.join(sorted(unknown))}")
    for code, value in uses.items():
        state = value.get("state") if isinstance(value, dict) else value
        if state not in STATES:
            raise TermsError(f"{code}: state must be one of {', '.join(STATES)}")
        constraint = (value.get("constraint") or "").strip() if isinstance(value, dict) else ""
        if state == CONSTRAINED and not constraint:
            raise TermsError(f"{code}: a constrained use needs the creator's constraint text")
        base["uses"][code] = {
            "state": state,
            "constraint": constraint if state == CONSTRAINED else "",
        }
    protections = terms.get("protections", {})
    unknown = set(protections) - set(PROTECTIONS)
    if unknown:
        raise TermsError(f"unknown protections: {', '.join(sorted(unknown))}")
    for code, on in protections.items():
        base["protections"][code] = bool(on)
    if "exclusive_allowed" in terms:
        base["exclusive_allowed"] = bool(terms["exclusive_allowed"])
    refused = terms.get("refused_buyers", [])
    if not isinstance(refused, list) or not all(isinstance(x, str) for x in refused):
        raise TermsError("refused_buyers must be a list of organisation ids")
    base["refused_buyers"] = sorted(set(refused))
    return base


def grants(
    terms: dict[str, Any],
    uses_needed: list[str],
    accepted_constraints: frozenset[str] = frozenset(),
) -> tuple[bool, str]:
    """Whether terms grant every needed use. A constrained use never matches automatically:
    only when the buyer has accepted that use's constraint explicitly."""
    for code in uses_needed:
        entry = terms["uses"].get(code)
        if entry is None:
            return False, f"unknown use {code}"
        if entry["state"] == NOT_ALLOWED:
            return False, f"{USES[code].label} not allowed"
        if entry["state"] == CONSTRAINED and code not in accepted_constraints:
            return False, f"{USES[code].label} is constrained: {entry['constraint']}"
    return True, ""
