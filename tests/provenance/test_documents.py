import dataclasses
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest

from outtake.core.terms import PROTECTIONS, USES
from outtake.provenance.contract import ContractError, LicenseDocument
from outtake.provenance.documents import render_agreement_pdf, render_license_pdf
from outtake.provenance.odrl import build_policy
from tests.provenance.pdftext import pdf_text


def test_license_pdf_renders_the_contract(license_pdf, license_doc):
    pages, text = pdf_text(license_pdf)
    assert pages >= 2  # the clauses, then the schedules on their own landscape pages
    assert license_doc.license_id in text
    assert "Example Vision Lab Ltd" in text and "acting as agent" in text
    for clip in license_doc.clips:
        assert clip.clip_id in text
    for code in license_doc.uses:
        assert USES[code].label in text
    assert "AI inference input (use code" not in text  # not granted, so not in the grant
    assert "Not for models that identify or track individual people." in text
    assert "Accepted explicitly by the Licensee." in text
    for sentence in PROTECTIONS.values():
        assert sentence in text
    assert "22.18 USD" in text  # 14.18 + 7.75 + 0.25
    assert "receives 85 % of the price" in text
    assert "ending on 2028-11-03" in text and "DE, FR, US" in text
    assert "more than 30 days after it received the notice" in text
    assert "released (1 person)" in text and "incidental people" in text
    assert license_doc.clips[0].terms_id in text
    assert "dataset_license_v2" in text
    # Clips are named by their original upload's hash and in-out times, which is what the hash
    # is; the delivered files' hashes come later, in the package's manifest.
    assert "the SHA-256 hash of the original file its Creator uploaded" in text
    assert "hash of the delivered file" not in text
    assert "MANIFEST.sha256" in text
    assert "12.00–106.50 s" in text and "whole file" in text


def test_rendering_is_deterministic(license_pdf, license_doc):
    # The buyer accepts a hash; the same data must give the same bytes to recompute it.
    assert render_license_pdf(license_doc) == license_pdf


def test_creator_agreement_renders(agreement):
    pages, text = pdf_text(render_agreement_pdf(agreement))
    assert pages >= 1
    assert agreement.agreement_id in text
    assert "Jane Example" in text and "kestrel-17" in text
    assert "receives 85 % of the price" in text and "10.00 USD" in text
    assert "constrained" in text and "not allowed" in text


def test_revenue_share_adds_up(license_doc):
    shares, fee = license_doc.creator_shares()
    assert {k: v.minor for k, v in shares.items()} == {
        "heron-4": 21,
        "kestrel-17": 1864,
    }  # 2193 × 0.85 = 1864.05
    assert sum(m.minor for m in shares.values()) + fee.minor == license_doc.total.minor == 2218


def test_a_constrained_use_needs_the_buyers_acceptance(license_doc):
    fields = {**license_doc.__dict__, "accepted_constraints": ()}
    with pytest.raises(ContractError, match="constrained"):
        LicenseDocument(**fields)


def test_a_use_the_creator_did_not_grant_cannot_be_licensed(license_doc):
    fields = {**license_doc.__dict__, "uses": (*license_doc.uses, "ai_inference")}
    with pytest.raises(ContractError, match="not allowed"):
        LicenseDocument(**fields)


def test_share_outside_zero_to_one_is_refused(license_doc):
    with pytest.raises(ContractError):
        LicenseDocument(**{**license_doc.__dict__, "creator_share": Decimal("1.5")})


STYLE = (
    "No imitation of the creator's style, by name or by fine-tuning on their clips to reproduce it."
)


# The style protection as licenses sold before its wording was pinned at the sale state it.
OLD_STYLE = "No imitation of the creator's style by name."


def flat(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", pdf_text(pdf)[1])


def style_wording(doc: LicenseDocument) -> tuple[str, str]:
    """The style protection as the ODRL policy and a delivered file's XMP state it."""
    from outtake.delivery.services import _usage_terms  # a Django app's, unlike the rest here

    prohibited = {p["dct:identifier"]: p for p in build_policy(doc, "x")["prohibition"]}
    clip = doc.clips[0]
    states = clip.terms_snapshot["uses"]
    xmp = _usage_terms(SimpleNamespace(id=doc.license_id), states, clip.terms_snapshot)
    return prohibited["no_style_imitation"]["dct:description"], xmp


def test_style_protection_covers_fine_tuning_wherever_protections_are_stated(
    license_pdf, license_doc, agreement
):
    from outtake.rights.releases import consent_text

    assert PROTECTIONS["no_style_imitation"] == STYLE
    assert STYLE in flat(license_pdf)
    assert STYLE in flat(render_agreement_pdf(agreement))
    assert STYLE in consent_text()  # what a person shown signs in a release
    odrl, xmp = style_wording(license_doc)
    assert odrl == STYLE
    assert STYLE in xmp  # the usage terms in every delivered file's XMP


def _sold_before_pinning(doc: LicenseDocument) -> LicenseDocument:
    """The same license as its data was kept before sales pinned the protections' wording."""
    clips = tuple(
        dataclasses.replace(
            c, terms_snapshot={k: v for k, v in c.terms_snapshot.items() if k != "protection_texts"}
        )
        for c in doc.clips
    )
    return dataclasses.replace(doc, clips=clips)


def test_a_license_sold_under_the_old_style_wording_goes_on_stating_it(license_doc):
    old = _sold_before_pinning(license_doc)
    text = flat(render_license_pdf(old))
    assert OLD_STYLE in text and STYLE not in text
    odrl, xmp = style_wording(old)
    assert odrl == OLD_STYLE
    assert OLD_STYLE in xmp and "fine-tuning on" not in xmp


def test_a_license_whose_clips_word_a_protection_differently_is_refused(license_doc):
    old = _sold_before_pinning(license_doc)
    with pytest.raises(ContractError, match="no_style_imitation differently"):
        dataclasses.replace(license_doc, clips=(license_doc.clips[0], old.clips[1]))
