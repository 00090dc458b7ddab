"""Contracts at acceptance: sealed PDF, recorded acceptance, ODRL policy, buyer co-signatures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils import timezone
from pyhanko.sign.signers import pdf_signer

from outtake.audit.models import AuditEvent
from outtake.core.terms import OWNERSHIP_ATTESTATIONS, PROTECTIONS, USES, clause_id
from outtake.market.services import accept_quote, build_quote, create_request
from outtake.provenance import ca
from outtake.provenance.documents import render_license_pdf
from outtake.provenance.odrl import expand
from outtake.provenance.pdfseal import cosign_pdf
from outtake.provenance.verify_contract import verify_contract
from outtake.rights.contracts import data_fingerprint, document_from
from outtake.rights.services import set_terms
from tests.factories import ready_clip
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db
CONDITION = "Not for models that identify individual people."


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


@pytest.fixture
def sold(make_user):
    """A license over two creators' clips, one with a constrained use the buyer accepted."""
    a, b, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    ready_clip(a, duration_s=90)
    ready_clip(b, width=3840, height=2160, duration_s=30)
    set_terms(a, {"uses": {"fine_tuning": {"state": "constrained", "constraint": CONDITION}}})
    request = create_request(
        buyer, {"budget": "100", "uses_needed": ["ai_training", "fine_tuning"]}
    )
    accepted = [clause_id("fine_tuning", CONDITION)]
    lic = accept_quote(buyer, build_quote(request), via="api", accepted_clauses=accepted)
    return lic, buyer, a, b


def test_acceptance_is_recorded_and_the_pdf_sealed(sold, client, tmp_path):
    lic, buyer, a, _ = sold
    contract = lic.contract
    assert contract.accepted_by == buyer and contract.accepted_via == "api"
    assert contract.accepted_org == buyer.organization
    accepted = AuditEvent.objects.get(kind="license.contract_accepted", subject_id=str(lic.id))
    assert accepted.data["data_sha256"] == data_fingerprint(contract.document)
    assert accepted.data["account"] == buyer.email

    response = client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    contract.refresh_from_db()
    sealed = AuditEvent.objects.get(kind="license.contract_sealed", subject_id=str(lic.id))
    assert sealed.data["document_sha256"] == contract.document_sha256
    assert sealed.data["data_sha256"] == accepted.data["data_sha256"]
    # The accepted data renders to the very bytes that were sealed: the hash can be recomputed.
    rerendered = render_license_pdf(document_from(contract.document))
    assert hashlib.sha256(rerendered).hexdigest() == contract.document_sha256
    path = tmp_path / "license.pdf"
    path.write_bytes(response.content)
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert ok and row["certified"] and row["field"] == "OuttakeSeal"

    _, text = pdf_text(response.content)
    for statement in OWNERSHIP_ATTESTATIONS.values():
        assert statement.split(";")[0].rstrip(".") in text  # warranties from attestations
    assert CONDITION in text and "Accepted explicitly by the Licensee" in text
    assert a.organization.pseudonym in text and a.organization.name not in text

    # One changed byte inside the signed range (the document's own /Producer) breaks the seal.
    data = bytearray(response.content)
    data[data.index(b"/Producer") + 2] ^= 1
    path.write_bytes(bytes(data))
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert not ok and not row["intact"]


def test_creators_involved_read_it_others_do_not(sold, client, make_user):
    lic, buyer, a, b = sold
    stranger, other_creator = make_user("buyer"), make_user("creator")
    for user in (buyer, a, b):
        assert client.get(f"/api/licenses/{lic.id}/contract", **auth(user)).status_code == 200
        assert client.get(f"/api/licenses/{lic.id}/odrl", **auth(user)).status_code == 200
    for user in (stranger, other_creator):
        assert client.get(f"/api/licenses/{lic.id}/contract", **auth(user)).status_code == 404
    client.force_login(a)
    page = client.get("/contracts/")
    assert str(lic.id)[:8] in page.content.decode()
    assert client.get(f"/licenses/{lic.id}/contract.pdf").status_code == 200
    client.force_login(buyer)
    assert f"/licenses/{lic.id}/contract.pdf" in client.get(f"/licenses/{lic.id}/").content.decode()


def test_odrl_policy_agrees_with_the_pdf(sold, client):
    lic, buyer, _, _ = sold
    policy = client.get(f"/api/licenses/{lic.id}/odrl", **auth(buyer)).json()
    _, text = pdf_text(client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer)).content)
    flat = re.sub(r"\s+", "", text)

    assert policy["uid"] == lic.id.urn
    purposes = {
        c["rightOperand"]
        for p in policy["permission"]
        for c in p["constraint"]
        if c["leftOperand"] == "purpose"
    }
    assert purposes == set(lic.uses)
    for code in lic.uses:
        assert USES[code].label in text
    conditioned = [p for p in policy["permission"] if "dct:description" in p]
    assert len(conditioned) == 1 and CONDITION in conditioned[0]["dct:description"]
    assert {p["dct:identifier"] for p in policy["prohibition"]} == {
        code
        for code in PROTECTIONS
        if code in ("no_digital_replica", "no_style_imitation", "no_reputational_harm")
    }
    for p in policy["prohibition"]:
        assert p["dct:description"] in text
    clips = next(
        r["target"]["dct:hasPart"]
        for r in [*policy["permission"], *policy["obligation"]]
        if isinstance(r["target"], dict) and "dct:hasPart" in r["target"]
    )
    assert {c["dct:identifier"] for c in clips} == {str(i.clip_id) for i in lic.items.all()}
    for clip in clips:
        assert clip["dct:source"]["schema:sha256"] in flat and clip["dct:identifier"] in flat
    [payment] = [o for o in policy["obligation"] if "compensatedParty" in o]
    amount = payment["action"][0]["refinement"][0]["rightOperand"]["@value"]
    assert f"{amount}" in text.replace(",", "")
    # Offline against the context in the repo, with no rule, party or clip dropped.
    [expanded] = expand(policy)
    odrl = "http://www.w3.org/ns/odrl/2/"
    assert expanded["@id"] == policy["uid"] and expanded["@type"] == [odrl + "Agreement"]
    for rules in ("permission", "prohibition", "obligation"):
        assert len(expanded[odrl + rules]) == len(policy[rules])
    assert expanded[odrl + "assignee"][0]["@id"] == policy["assignee"]["uid"]
    parts = json.dumps(expanded)
    assert all(c["uid"] in parts for c in clips)


def _csr(key, name: str) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _write_key(key, path):
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_buyer_cosigns_with_a_certificate_outtake_issued_from_their_csr(sold, client, tmp_path):
    lic, buyer, _, _ = sold
    key = ec.generate_private_key(ec.SECP256R1())
    r = client.post(
        "/api/certificates/csr",
        {"csr_pem": _csr(key, "whatever the CSR claims")},
        content_type="application/json",
        **auth(buyer),
    )
    assert r.status_code == 201, r.content
    issued = r.json()
    assert "OU=buyer" in issued["subject"] and buyer.email in issued["subject"]
    cert_path = tmp_path / "buyer.pem"
    cert_path.write_text(issued["certificate_pem"])
    sealed = client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer)).content
    signed = cosign_pdf(sealed, _write_key(key, tmp_path / "buyer.key"), cert_path)

    r = client.post(
        f"/api/licenses/{lic.id}/contract/cosigned",
        {"pdf": _upload(signed)},
        **auth(buyer),
    )
    assert r.status_code == 200, r.content
    assert r.json()["cosigned_sha256"]
    latest = client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer)).content
    assert latest == signed
    path = tmp_path / "cosigned.pdf"
    path.write_bytes(latest)
    ok, rows = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem", [cert_path])
    assert ok and [r["field"] for r in rows] == ["OuttakeSeal", "LicenseeSignature"]
    # Issued by Outtake or not, the buyer's signature counts only once its certificate is trusted.
    ok, [seal, cosignature] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert not ok and seal["ok"] and not cosignature["trusted"]
    assert AuditEvent.objects.filter(kind="license.contract_cosigned").exists()


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("signed.pdf", data, content_type="application/pdf")


def test_own_certificate_must_be_registered_before_it_counts(sold, client, tmp_path):
    lic, buyer, _, _ = sold
    own_pki = tmp_path / "lab-pki"
    issued = ca.issue_leaf(own_pki, "signer", org="Example Lab")
    sealed = client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer)).content
    signed = cosign_pdf(
        sealed, issued.key_path, issued.cert_path, chain_pems=(own_pki / "root.pem",)
    )
    url = f"/api/licenses/{lic.id}/contract/cosigned"
    r = client.post(url, {"pdf": _upload(signed)}, **auth(buyer))
    assert r.status_code == 400 and "registered" in r.json()["detail"]

    r = client.post(
        "/api/certificates",
        {
            "certificate_pem": issued.cert_path.read_text(),
            "chain_pem": (own_pki / "root.pem").read_text(),
        },
        content_type="application/json",
        **auth(buyer),
    )
    assert r.status_code == 201, r.content
    assert client.post(url, {"pdf": _upload(signed)}, **auth(buyer)).status_code == 200

    # Anything but an incremental signature over Outtake's sealed PDF is refused.
    r = client.post(url, {"pdf": _upload(signed[:-10] + b"0000000000")}, **auth(buyer))
    assert r.status_code == 400


def _register(client, buyer, issued, own_pki):
    return client.post(
        "/api/certificates",
        {
            "certificate_pem": issued.cert_path.read_text(),
            "chain_pem": (own_pki / "root.pem").read_text(),
        },
        content_type="application/json",
        **auth(buyer),
    )


def test_a_cosignature_by_a_registered_certificate_since_expired_is_refused(
    sold, client, tmp_path, monkeypatch
):
    lic, buyer, _, _ = sold
    issued_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * ca.LEAF_YEARS + 30)
    back_then = issued_at + dt.timedelta(days=100)
    own_pki = tmp_path / "lab-pki"
    issued = ca.issue_leaf(own_pki, "signer", org="Example Lab", now=issued_at)
    sealed = client.get(f"/api/licenses/{lic.id}/contract", **auth(buyer)).content

    class BackThen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return back_then

    # Registered while it was valid, and a signature stating a time back then (pyHanko's clock
    # set back): the stated time is the buyer's own word.
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: back_then)
        assert _register(client, buyer, issued, own_pki).status_code == 201
        m.setattr(pdf_signer, "datetime", BackThen)
        signed = cosign_pdf(
            sealed, issued.key_path, issued.cert_path, chain_pems=(own_pki / "root.pem",)
        )
    r = client.post(
        f"/api/licenses/{lic.id}/contract/cosigned", {"pdf": _upload(signed)}, **auth(buyer)
    )
    assert r.status_code == 400, r.content
    # Refused by the one date check, verify_pdf's, which says why the stated time is not taken.
    assert r.json()["detail"].startswith(
        "signature LicenseeSignature does not validate: not trusted: its certificate expired on"
    )
    assert r.json()["detail"].endswith("no trusted timestamp, so it is judged as of now")
    lic.contract.refresh_from_db()
    assert not lic.contract.cosigned_key
    assert not AuditEvent.objects.filter(kind="license.contract_cosigned").exists()


def test_a_certificate_not_valid_yet_is_not_registered(sold, client, tmp_path):
    _, buyer, _, _ = sold
    own_pki = tmp_path / "lab-pki"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    issued = ca.issue_leaf(own_pki, "signer", org="Example Lab", now=later)
    r = _register(client, buyer, issued, own_pki)
    assert r.status_code == 400 and "valid only from" in r.json()["detail"]


def test_a_delivery_carries_the_contract_sealed_on_demand_then_the_cosigned_one(sold, tmp_path):
    from outtake.delivery.services import _license_documents
    from outtake.market.models import License
    from outtake.rights.contracts import certify_request, odrl_policy, submit_cosigned

    lic, buyer, _, _ = sold
    assert not lic.contract.sealed_key  # the seal job has not run (or failed)
    policy, pdf = _license_documents(lic)
    path = tmp_path / "license.pdf"
    path.write_bytes(pdf)
    assert verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")[0]
    assert json.loads(policy) == odrl_policy(lic.contract)

    key = ec.generate_private_key(ec.SECP256R1())
    cert = certify_request(buyer, _csr(key, "lab"))
    cert_path = tmp_path / "buyer.pem"
    cert_path.write_text(cert.certificate_pem)
    signed = cosign_pdf(pdf, _write_key(key, tmp_path / "buyer.key"), cert_path)
    submit_cosigned(buyer, lic.contract, signed)
    assert _license_documents(License.objects.get(pk=lic.pk))[1] == signed


def test_clips_are_named_by_their_original_and_in_out_times(sold):
    lic, *_ = sold
    doc = document_from(lic.contract.document)
    assert doc.template_version == "v2"
    for line in doc.clips:
        item = lic.items.get(clip_id=line.clip_id)
        assert line.original_sha256 == item.clip.asset.sha256
        assert (line.start_s, line.end_s) == (item.clip.start_s, item.clip.end_s)
    _, text = pdf_text(render_license_pdf(doc))
    assert "hash of the delivered file" not in text
    assert "the SHA-256 hash of the original file its Creator uploaded" in text

    # A contract accepted under v1 (hash named "sha256", no times) still re-renders under v1.
    old = dict(lic.contract.document, template_version="v1")
    old["clips"] = [
        {("sha256" if k == "original_sha256" else k): v for k, v in c.items() if k[-2:] != "_s"}
        for c in old["clips"]
    ]
    _, text = pdf_text(render_license_pdf(document_from(old)))
    flat = re.sub(r"\s+", "", text)
    assert "dataset_license_v1" in flat and doc.clips[0].original_sha256 in flat
