"""Rights terms: six uses in three states, creator protections, and their resolution.

USES is the one table mapping each use to its CAWG entry, its PLUS DataMining value and its
ODRL action; every part of Outtake that speaks a vocabulary reads it from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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
    "no_style_imitation": "No imitation of the creator's style, by name or by fine-tuning on "
    "their clips to reproduce it.",
    "no_reputational_harm": "No use that harms the reputation of the creator or people shown.",
}
# Off unless the creator turns them on. Kept apart from PROTECTIONS (on by default in every
# license) so terms saved before they existed still read the same.
OPTIONAL_PROTECTIONS: dict[str, str] = {
    "no_political": "No use in political campaigning or political advertising.",
    "no_adult": "No use to make or train for sexually explicit content.",
}
ALL_PROTECTIONS: dict[str, str] = {**PROTECTIONS, **OPTIONAL_PROTECTIONS}
# The wording of each protection before a sale pinned its own (with_protection_texts): what
# the licenses sold then were sealed with, so what they still state. Never edit it.
WORDING_BEFORE_PINNING: dict[str, str] = {
    "no_digital_replica": "No digital replica of the creator or of any person shown.",
    "no_style_imitation": "No imitation of the creator's style by name.",
    "no_reputational_harm": "No use that harms the reputation of the creator or people shown.",
    "no_political": "No use in political campaigning or political advertising.",
    "no_adult": "No use to make or train for sexually explicit content.",
}

# Kinds of buyer a creator may refuse as a whole (an organisation's category is set by review).
BUYER_CATEGORIES: dict[str, str] = {
    "defense": "Defence and military",
    "surveillance": "Surveillance and biometric identification",
    "advertising": "Advertising technology",
    "political": "Political organisations",
    "adult": "Adult entertainment",
}


# What a creator attests at sign-up, on each new creator agreement and per upload; a license
# states them as the creators' warranties.
OWNERSHIP_ATTESTATIONS: dict[str, str] = {
    "holds_rights": "the Creator made the footage and holds all rights in it;",
    "not_client_work": "the footage is not work made for, or owned by, a client;",
    "not_exclusive_elsewhere": "the footage is not licensed exclusively to anyone else;",
    "no_third_party_music": "the footage contains no third-party music or other material "
    "the Creator does not own.",
}


class TermsError(ValueError):
    pass


def default_terms() -> dict[str, Any]:
    """What a new creator grants until they change it: training uses allowed, protections on."""
    return {
        "uses": {code: {"state": ALLOWED, "constraint": ""} for code in USES},
        "protections": {code: code in PROTECTIONS for code in ALL_PROTECTIONS},
        "exclusive_allowed": True,
        "refused_buyers": [],
        "refused_categories": [],
        # Each deal waits for the creator's approval (allow-list mode).
        "approval_required": False,
        "min_price_per_minute": None,  # a decimal string in the rate card's currency
        "territory": [],  # ISO 3166-1 alpha-2 codes the creator grants; empty: worldwide
        "term_years": None,  # the longest term granted; None: perpetual allowed
        # Revocation clause: None, no further deliveries only; N, also no use in training runs
        # started more than N days after the notice.
        "training_stop_notice_days": None,
        # Deliveries carry GPS finer than about 1 km only if the creator opts in (DESIGN.md).
        "precise_location": False,
        # Deliveries carry an original's own C2PA manifest (redacted) only if the creator opts
        # in: its signed title and signer's certificate may name the camera or the creator.
        "original_c2pa_manifest": False,
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
    unknown = set(protections) - set(ALL_PROTECTIONS)
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
    _validate_commercial(terms, base)
    return base


def with_protection_texts(terms: dict[str, Any]) -> dict[str, Any]:
    """Terms as a sale pins them: with today's wording of every protection, so a license goes
    on stating what it was sold under when the wording changes later."""
    return {**terms, "protection_texts": dict(ALL_PROTECTIONS)}


def protection_texts(terms: dict[str, Any]) -> dict[str, str]:
    """Each protection in the words these terms (a sale's snapshot) pinned; terms pinned
    before sales kept the wording read as it was then. Every license renders from here."""
    return terms.get("protection_texts") or WORDING_BEFORE_PINNING


def _optional_int(terms: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = terms.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TermsError(f"{key} must be a whole number") from None
    if not low <= number <= high:
        raise TermsError(f"{key} must be between {low} and {high}")
    return number


def _validate_commercial(terms: dict[str, Any], base: dict[str, Any]) -> None:
    categories = terms.get("refused_categories", [])
    if not isinstance(categories, list) or set(categories) - set(BUYER_CATEGORIES):
        raise TermsError(f"refused_categories must be among {', '.join(BUYER_CATEGORIES)}")
    base["refused_categories"] = sorted(set(categories))
    base["approval_required"] = bool(terms.get("approval_required", False))
    floor = terms.get("min_price_per_minute")
    if floor not in (None, ""):
        try:
            amount = Decimal(str(floor))
        except InvalidOperation:
            raise TermsError("min_price_per_minute must be a decimal amount") from None
        if not amount.is_finite() or amount < 0:
            raise TermsError("min_price_per_minute must be zero or more")
        base["min_price_per_minute"] = str(amount.quantize(Decimal("0.01")))
    territory = terms.get("territory", [])
    if not isinstance(territory, list) or not all(
        isinstance(c, str) and len(c) == 2 and c.isalpha() for c in territory
    ):
        raise TermsError("territory must be a list of ISO 3166-1 alpha-2 country codes")
    base["territory"] = sorted({c.upper() for c in territory})
    base["term_years"] = _optional_int(terms, "term_years", 1, 99)
    base["training_stop_notice_days"] = _optional_int(terms, "training_stop_notice_days", 0, 365)
    base["precise_location"] = bool(terms.get("precise_location", False))
    base["original_c2pa_manifest"] = bool(terms.get("original_c2pa_manifest", False))


def fits_scope(
    terms: dict[str, Any], territory: list[str], term_years: int | None
) -> tuple[bool, str]:
    """Whether a buyer's territory (empty: worldwide) and term (None: perpetual) lie within
    what the creator grants."""
    granted = set(terms.get("territory") or [])
    if granted and (not territory or not set(territory) <= granted):
        return False, "territory not granted by the creator"
    longest = terms.get("term_years")
    if longest is not None and (term_years is None or term_years > longest):
        return False, f"creator grants at most {longest} years"
    return True, ""


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


def clause_id(use: str, text: str) -> str:
    """The id of one creator's condition on one use: a buyer accepts each distinct (use, text)
    by it, after reading the text. Anyone can recompute it."""
    return hashlib.sha256(f"{use}\n{text}".encode()).hexdigest()[:16]


def constraint_clauses(terms: dict[str, Any], uses: list[str]) -> list[tuple[str, str]]:
    """The (use, creator's text) of each of these uses the terms constrain."""
    return [
        (code, terms["uses"][code]["constraint"])
        for code in uses
        if terms["uses"].get(code, {}).get("state") == CONSTRAINED
    ]
