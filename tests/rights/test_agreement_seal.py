"""The accepted creator agreement is a sealed PDF the creator downloads and anyone validates
offline; only a new agreement template asks creators to accept again."""

from __future__ import annotations

import hashlib

import pytest
from django.conf import settings

from outtake.accounts import services
from outtake.accounts.models import Attestation
from outtake.audit.models import AuditEvent
from outtake.provenance import contract
from outtake.provenance.verify_contract import verify_contract
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db


def test_the_accepted_agreement_is_sealed_and_one_changed_byte_breaks_it(
    make_user, client, tmp_path
):
    creator = make_user("creator")
    [accepted] = Attestation.objects.filter(organization=creator.organization, scope="agreement")
    client.force_login(creator)
    pdf = client.get(f"/agreement/{accepted.id}.pdf").content
    assert hashlib.sha256(pdf).hexdigest() == accepted.document_sha256
    event = AuditEvent.objects.get(kind="account.ownership_attested", subject_id=str(accepted.id))
    assert event.data["document_sha256"] == accepted.document_sha256
    _, text = pdf_text(pdf)
    assert "Creator Agreement" in text and creator.organization.pseudonym in text

    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert ok and row["seal"] and row["certified"] and row["coverage"] == "entire file"

    data = bytearray(pdf)
    data[data.index(b"/Producer") + 2] ^= 1  # inside the signed range
    path.write_bytes(bytes(data))
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert not ok and not row["intact"]


def test_only_a_new_agreement_template_asks_creators_again(make_user, monkeypatch):
    creator = make_user("creator")
    monkeypatch.setattr(contract, "LICENSE_TEMPLATE", "v99")
    monkeypatch.setattr(contract, "RELEASE_TEMPLATE", "v99")
    assert not services.needs_agreement(creator)
    monkeypatch.setattr(contract, "AGREEMENT_TEMPLATE", "v99")
    assert services.needs_agreement(creator)
