"""Sample contract data shaped like what the market app will feed in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from outtake.core.money import Money
from outtake.core.terms import CONSTRAINED, NOT_ALLOWED, default_terms, with_protection_texts
from outtake.provenance.contract import ClipLine, CreatorAgreement, LicenseDocument

CONSTRAINT = "Not for models that identify or track individual people."
WARRANTIES = (
    "the Creator made the footage and holds all rights in it;",
    "the footage is not work made for a client and is not licensed exclusively elsewhere;",
    "the footage contains no third-party music or other material the Creator does not own.",
)


def _terms(*, constrained: bool = False, replica: bool = True) -> dict:
    terms = default_terms()
    terms["uses"]["ai_inference"] = {"state": NOT_ALLOWED, "constraint": ""}
    if constrained:
        terms["uses"]["ai_training"] = {"state": CONSTRAINED, "constraint": CONSTRAINT}
    terms["protections"]["no_digital_replica"] = replica
    return with_protection_texts(terms)  # as a sale pins them


def _license_doc() -> LicenseDocument:
    clips = (
        ClipLine(
            "0b7c6a53-6c1e-4c51-9a43-5d1f2d0c9e01",
            "a" * 64,
            "video",
            94.5,
            1_418,
            "USD",
            "kestrel-17",
            "no people",
            _terms(constrained=True),
            12.0,
            106.5,
        ),
        ClipLine(
            "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a02",
            "b" * 64,
            "video",
            31.0,
            775,
            "USD",
            "kestrel-17",
            "released (1 person)",
            _terms(constrained=True),
            0.0,
            31.0,
        ),
        ClipLine(
            "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c03",
            "c" * 64,
            "image",
            0,
            25,
            "USD",
            "heron-4",
            "incidental people",
            _terms(replica=False),
        ),
    )
    return LicenseDocument(
        license_id="5f0e8d1c-3b2a-4c9d-8e7f-6a5b4c3d2e1f",
        date=dt.date(2025, 11, 3),
        buyer="Example Vision Lab Ltd",
        buyer_id="9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
        clips=clips,
        uses=("ai_training", "ai_generative_training", "data_mining", "fine_tuning"),
        accepted_constraints=("ai_training",),
        creator_share=Decimal("0.85"),
        warranties=WARRANTIES,
        term_years=3,
        territory=("DE", "FR", "US"),
        training_stop_notice_days=30,
    )


@pytest.fixture
def license_doc() -> LicenseDocument:
    return _license_doc()


@pytest.fixture
def agreement() -> CreatorAgreement:
    return CreatorAgreement(
        agreement_id="ca-kestrel-17-1",
        date=dt.date(2025, 10, 1),
        creator_name="Jane Example",
        pseudonym="kestrel-17",
        default_terms=_terms(constrained=True),
        creator_share=Decimal("0.85"),
        payout_minimums=(Money(1000, "USD"),),
        attestations=WARRANTIES,
    )


@pytest.fixture(scope="session")
def license_pdf() -> bytes:
    # Rendering takes a couple of seconds: once per session, from the same data as the fixture.
    from outtake.provenance.documents import render_license_pdf

    return render_license_pdf(_license_doc())


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    from outtake.provenance.ca import ensure_root

    path = tmp_path_factory.mktemp("outtake-home") / "pki"
    ensure_root(path)
    return path
