"""The data of Outtake's contracts: the dataset license (per sale) and the creator agreement.

Plain dataclasses the Django apps fill from License, LicenseItem and the creator's terms, so the
PDF (provenance.documents) and the ODRL policy (provenance.odrl) are both derived from one object
and cannot disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from outtake.core.money import Money, split_shares
from outtake.core.terms import (
    ALL_PROTECTIONS,
    CONSTRAINED,
    USES,
    grants,
    protection_texts,
    validate_terms,
)

# Each kind of document has its own template version: a new license template must not make
# every creator accept their agreement again. A stored document keeps the version it was made
# under and re-renders with that template.
LICENSE_TEMPLATE = "v2"
AGREEMENT_TEMPLATE = "v1"
RELEASE_TEMPLATE = "v1"
PLATFORM = "Outtake"


class ContractError(ValueError):
    pass


def snapshot_fingerprint(terms: dict[str, Any]) -> str:
    """A short stable id of a terms snapshot: the PDF cites it, anyone can recompute it."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not contract data")


def document_data(doc: Any) -> dict[str, Any]:
    """A contract document's data as JSON gives it back (dates ISO, Decimals as strings, tuples
    as lists): what is kept at acceptance and rendered from later."""
    return json.loads(json.dumps(dataclasses.asdict(doc), default=_jsonable))


def data_fingerprint(data: dict[str, Any]) -> str:
    """The SHA-256 of a document's canonical data: what was accepted, recomputable by anyone."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ClipLine:
    """One licensed clip as the contract names it (LicenseItem + its Clip).

    A clip is identified by the original file its creator uploaded and its in and out times in
    it. The delivered file is cut from that original and tagged (XMP, C2PA), so its own hash is
    known only once the package is built: the package's MANIFEST.sha256 lists it."""

    clip_id: str
    original_sha256: str  # the original upload the clip is cut from
    kind: str  # "video" | "image"
    seconds: float  # 0 for a photo
    price_minor: int
    currency: str
    creator: str  # the creator's pseudonym: creators are pseudonymous to buyers
    release_status: str  # e.g. "no people", "released", "incidental people"
    terms_snapshot: dict[str, Any]
    start_s: float | None = None  # in and out times in the original; None for a photo
    end_s: float | None = None

    @property
    def price(self) -> Money:
        return Money(self.price_minor, self.currency)

    @property
    def minutes(self) -> Decimal:
        return (Decimal(str(self.seconds)) / 60).quantize(Decimal("0.01"))

    @property
    def terms_id(self) -> str:
        return snapshot_fingerprint(self.terms_snapshot)

    @property
    def span(self) -> str:
        """Where the clip is in its original, as the contract prints it."""
        if self.start_s is None or self.end_s is None:
            return "whole file"
        return f"{self.start_s:.2f}–{self.end_s:.2f} s"


@dataclass(frozen=True)
class ConstraintClause:
    """A creator's condition on a granted use, the clips it binds and the buyer's acceptance."""

    use: str
    text: str
    clip_ids: tuple[str, ...]
    accepted: bool


@dataclass(frozen=True)
class LicenseDocument:
    license_id: str
    date: dt.date
    buyer: str  # the licensee organisation's name
    buyer_id: str
    clips: tuple[ClipLine, ...]
    uses: tuple[str, ...]  # codes of core.terms.USES granted by this license
    accepted_constraints: tuple[str, ...]  # uses whose creator constraints the buyer accepted
    creator_share: Decimal  # from the rate card, e.g. Decimal("0.85")
    warranties: tuple[str, ...]  # the creators' ownership attestations, as stated
    exclusive: bool = False
    term_years: int | None = None  # None: perpetual
    territory: tuple[str, ...] = ()  # ISO 3166-1 alpha-2 codes; empty: worldwide
    # None: revocation only stops further deliveries. N: also no use in training runs started
    # more than N days after the buyer received a revocation notice (the creator's choice).
    training_stop_notice_days: int | None = None
    template_version: str = LICENSE_TEMPLATE

    def __post_init__(self) -> None:
        if not self.clips:
            raise ContractError("a license needs at least one clip")
        currencies = {c.currency for c in self.clips}
        if len(currencies) != 1:
            raise ContractError(f"clips priced in several currencies: {sorted(currencies)}")
        unknown = set(self.uses) - set(USES)
        if unknown or not self.uses:
            raise ContractError(f"uses must be known codes, got {sorted(self.uses)}")
        if not Decimal(0) <= self.creator_share <= Decimal(1):
            raise ContractError("creator_share must be between 0 and 1")
        if self.term_years is not None and self.term_years < 1:
            raise ContractError("term_years must be at least 1 (None for perpetual)")
        accepted = frozenset(self.accepted_constraints)
        for clip in self.clips:
            # The same rule the quote used: a constrained use only with explicit acceptance.
            ok, reason = grants(clip.terms_snapshot, list(self.uses), accepted)
            if not ok:
                raise ContractError(f"clip {clip.clip_id}: {reason}")
        self.protection_texts()  # one wording per protection, or no contract

    @property
    def currency(self) -> str:
        return self.clips[0].currency

    @property
    def total(self) -> Money:
        return Money(sum(c.price_minor for c in self.clips), self.currency)

    @property
    def total_seconds(self) -> float:
        return sum(c.seconds for c in self.clips)

    @property
    def creators(self) -> tuple[str, ...]:
        return tuple(sorted({c.creator for c in self.clips}))

    @property
    def end_date(self) -> dt.date | None:
        if self.term_years is None:
            return None
        try:
            return self.date.replace(year=self.date.year + self.term_years)
        except ValueError:  # 29 February into a non-leap year
            return self.date.replace(year=self.date.year + self.term_years, day=28)

    def creator_shares(self) -> tuple[dict[str, Money], Money]:
        """Each creator's share of their clips' price and Outtake's fee (core.money's rule)."""
        gross: dict[str, int] = defaultdict(int)
        for clip in sorted(self.clips, key=lambda c: c.creator):
            gross[clip.creator] += clip.price_minor
        return split_shares(gross, self.creator_share, self.currency)

    def constraint_clauses(self) -> list[ConstraintClause]:
        """One clause per distinct (use, creator text) among the clips' terms snapshots."""
        clips_by_clause: dict[tuple[str, str], list[str]] = defaultdict(list)
        for clip in self.clips:
            for code in self.uses:
                entry = clip.terms_snapshot["uses"][code]
                if entry["state"] == CONSTRAINED:
                    clips_by_clause[(code, entry["constraint"])].append(clip.clip_id)
        return [
            ConstraintClause(code, text, tuple(ids), code in self.accepted_constraints)
            for (code, text), ids in sorted(clips_by_clause.items())
        ]

    def protections(self) -> dict[str, tuple[str, ...]]:
        """Each protection in force and the clips it covers (all unless a creator waived it)."""
        covered: dict[str, list[str]] = {code: [] for code in ALL_PROTECTIONS}
        for clip in self.clips:
            for code, on in clip.terms_snapshot.get("protections", {}).items():
                if on and code in covered:
                    covered[code].append(clip.clip_id)
        return {code: tuple(ids) for code, ids in covered.items() if ids}

    def protection_texts(self) -> dict[str, str]:
        """Each protection in the words the clips' terms snapshots pinned at the sale."""
        texts: dict[str, str] = {}
        for clip in self.clips:
            for code, text in protection_texts(clip.terms_snapshot).items():
                if texts.setdefault(code, text) != text:
                    raise ContractError(f"the clips' terms word the protection {code} differently")
        return texts

    def terms_snapshots(self) -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
        """Distinct snapshots by fingerprint, each with the clips sold under it."""
        out: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for clip in self.clips:
            out.setdefault(clip.terms_id, (clip.terms_snapshot, []))[1].append(clip.clip_id)
        return {key: (terms, tuple(ids)) for key, (terms, ids) in out.items()}


@dataclass(frozen=True)
class CreatorAgreement:
    """What a creator accepts at sign-up and again when the agreement or their defaults change."""

    agreement_id: str
    date: dt.date
    creator_name: str
    pseudonym: str
    default_terms: dict[str, Any]
    creator_share: Decimal
    payout_minimums: tuple[Money, ...]  # one per currency paid out
    attestations: tuple[str, ...] = field(default_factory=tuple)
    template_version: str = AGREEMENT_TEMPLATE

    def __post_init__(self) -> None:
        # Normalise through the one validator so the PDF shows exactly what Outtake enforces.
        object.__setattr__(self, "default_terms", validate_terms(self.default_terms))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CreatorAgreement:
        """The agreement from its data as kept at acceptance (document_data's inverse)."""
        fields = dict(data)
        fields["date"] = dt.date.fromisoformat(fields["date"])
        fields["creator_share"] = Decimal(fields["creator_share"])
        fields["payout_minimums"] = tuple(Money(**m) for m in fields["payout_minimums"])
        fields["attestations"] = tuple(fields["attestations"])
        return cls(**fields)


@dataclass(frozen=True)
class ReleaseDocument:
    """A model or property release as the person (or owner) signed it through their link."""

    release_id: str  # derived from the link's token, which itself stays secret
    kind: str  # "model" | "property"
    person: str  # how the creator described who (or what) is shown
    signed_name: str
    signed_on: dt.date  # the date the signer wrote
    signed_at: str  # when Outtake recorded the signature (ISO 8601, UTC)
    asset_id: str
    clip_ids: tuple[str, ...]  # the clips covered; empty: every clip of the asset
    consent: tuple[str, ...]  # exactly the text shown on the signing page
    signature_png: bytes  # the drawn signature
    guardian_name: str = ""  # a minor's release is signed by the guardian
    template_version: str = RELEASE_TEMPLATE
