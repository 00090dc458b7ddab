"""The accepted creator agreement is kept as data with its hash, sealed after acceptance (or on
demand) into a PDF the creator downloads and anyone validates offline; only a new agreement
template asks creators to accept again."""

from __future__ import annotations

import hashlib
from io import BytesIO

import pytest
from django.conf import settings
from pyhanko.pdf_utils.reader import PdfFileReader

from outtake.accounts import services
from outtake.audit.models import AuditEvent
from outtake.provenance import contract
from outtake.provenance.documents import render_agreement_pdf
from outtake.provenance.verify_contract import verify_contract
from outtake.rights.services import set_terms
from outtake.storage import get_store
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db


def _constrained(condition: str) -> dict:
    return {"uses": {"fine_tuning": {"state": "constrained", "constraint": condition}}}


def _verify(pdf: bytes, tmp_path) -> tuple[bool, dict]:
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    return ok, row


def test_the_job_seals_the_agreement_once_the_acceptance_commits(
    make_user, client, tmp_path, django_capture_on_commit_callbacks
):
    creator = make_user("creator", agreement=False)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = services.accept_creator_agreement(creator)
    stored = get_store().get_bytes(accepted.document_key)  # before anyone asked for it
    client.force_login(creator)
    pdf = client.get(f"/agreement/{accepted.id}.pdf").content
    assert pdf == stored
    sealed = AuditEvent.objects.get(kind="account.agreement_sealed", subject_id=str(accepted.id))
    assert sealed.data["data_sha256"] == accepted.data_sha256
    assert sealed.data["sealed_sha256"] == hashlib.sha256(pdf).hexdigest()
    [signature] = PdfFileReader(BytesIO(pdf)).embedded_signatures
    assert f"data SHA-256 {accepted.data_sha256}" in signature.sig_object["/Reason"]
    _, text = pdf_text(pdf)
    assert "Creator Agreement" in text and creator.organization.pseudonym in text
    ok, row = _verify(pdf, tmp_path)
    assert ok and row["seal"] and row["certified"] and row["coverage"] == "entire file"


def test_sealed_later_the_agreement_carries_the_terms_as_accepted(make_user, client, tmp_path):
    creator = make_user("creator", agreement=False)
    set_terms(creator, _constrained("Credit Kim Lee in the model card."))
    accepted = services.accept_creator_agreement(creator)  # not committed: the job has not run
    set_terms(creator, _constrained("Only for weather models."))
    _, now = pdf_text(services.current_agreement_pdf(creator))
    assert "Only for weather models." in now  # what accepting today would say

    client.force_login(creator)
    pdf = client.get(f"/agreement/{accepted.id}.pdf").content  # sealed on demand, now
    _, text = pdf_text(pdf)
    assert "Credit Kim Lee in the model card." in text and "Only for weather models." not in text
    # The accepted data renders to the very bytes that were sealed: anyone can recompute it.
    rerendered = render_agreement_pdf(contract.CreatorAgreement.from_data(accepted.document))
    sealed = AuditEvent.objects.get(kind="account.agreement_sealed", subject_id=str(accepted.id))
    assert sealed.data["document_sha256"] == hashlib.sha256(rerendered).hexdigest()
    ok, row = _verify(pdf, tmp_path)
    assert ok and row["seal"] and row["certified"] and row["coverage"] == "entire file"

    data = bytearray(pdf)
    data[data.index(b"/Producer") + 2] ^= 1  # inside the signed range
    ok, row = _verify(bytes(data), tmp_path)
    assert not ok and not row["intact"]


def test_only_a_new_agreement_template_asks_creators_again(make_user, monkeypatch):
    creator = make_user("creator")
    monkeypatch.setattr(contract, "LICENSE_TEMPLATE", "v99")
    monkeypatch.setattr(contract, "RELEASE_TEMPLATE", "v99")
    assert not services.needs_agreement(creator)
    monkeypatch.setattr(contract, "AGREEMENT_TEMPLATE", "v99")
    assert services.needs_agreement(creator)


def test_sealing_holds_no_transaction_and_the_first_to_store_wins(make_user, monkeypatch):
    from django.db import connection

    from outtake.provenance import pdfseal

    creator = make_user("creator", agreement=False)
    accepted = services.accept_creator_agreement(creator)  # not committed: the job has not run
    outside = len(connection.atomic_blocks)  # the test's own
    real_seal = pdfseal.seal_pdf
    depths, meanwhile = [], []

    def sealing(pdf, pki, *, reason):
        depths.append(len(connection.atomic_blocks))
        sealed = real_seal(pdf, pki, reason=reason)
        if not meanwhile:  # another request seals the same agreement and stores it first
            meanwhile.append(None)
            meanwhile.append(services.seal_agreement(accepted.pk))
        return sealed

    monkeypatch.setattr(pdfseal, "seal_pdf", sealing)
    pdf = services.agreement_pdf(accepted)

    assert depths == [outside] * 2  # rendering and sealing ran in no transaction
    assert pdf == meanwhile[1] == get_store().get_bytes(accepted.document_key)
    [sealed] = AuditEvent.objects.filter(kind="account.agreement_sealed")
    assert sealed.data["sealed_sha256"] == hashlib.sha256(pdf).hexdigest()
