"""A buyer co-signs the sealed license on its web page: a certificate from a CSR (or their own),
then the signed PDF uploaded; the same services as the API."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from outtake.provenance import ca
from outtake.provenance.pdfseal import cosign_pdf
from outtake.provenance.verify_contract import verify_contract
from outtake.rights.models import BuyerCertificate
from tests.rights.test_contracts import _csr, _write_key, sold  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_buyer_gets_a_certificate_from_a_csr_and_uploads_the_cosigned_pdf(
    sold,  # noqa: F811
    client,
    tmp_path,
):
    lic, buyer, creator, _ = sold
    client.force_login(buyer)
    assert f"/licenses/{lic.id}/signing/" in client.get(f"/licenses/{lic.id}/").content.decode()
    url = f"/licenses/{lic.id}/signing/"
    page = client.get(url).content.decode()
    assert "Certificate signing request" in page and "No certificate registered" in page

    key = ec.generate_private_key(ec.SECP256R1())
    csr = SimpleUploadedFile("lab.csr", _csr(key, "Lab signer").encode())
    response = client.post(url, {"action": "csr", "csr_pem_file": csr})
    assert response.status_code == 200
    cert = BuyerCertificate.objects.get(organization=buyer.organization)
    assert cert.issued_by_outtake
    assert f"/certificates/{cert.id}.pem" in response.content.decode()
    pem = client.get(f"/certificates/{cert.id}.pem").content.decode()
    cert_path = tmp_path / "cert.pem"
    cert_path.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")

    sealed = client.get(f"/licenses/{lic.id}/contract.pdf").content
    signed = cosign_pdf(sealed, _write_key(key, tmp_path / "k.pem"), cert_path)
    bad = client.post(url, {"action": "cosigned", "pdf": SimpleUploadedFile("x.pdf", sealed)})
    assert bad.status_code == 400 and "incremental update" in bad.content.decode()
    response = client.post(url, {"action": "cosigned", "pdf": SimpleUploadedFile("s.pdf", signed)})
    assert response.status_code == 302
    assert "co-signed by" in client.get(url).content.decode()
    latest = client.get(f"/licenses/{lic.id}/contract.pdf").content
    assert latest == signed
    path = tmp_path / "cosigned.pdf"
    path.write_bytes(latest)
    ok, rows = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem", [cert_path])
    assert ok and [r["field"] for r in rows] == ["OuttakeSeal", "LicenseeSignature"]

    # A creator of the licensed clips reads the license but cannot co-sign it.
    client.force_login(creator)
    assert client.get(url).status_code == 403


def test_buyer_registers_their_own_certificate_on_the_page(sold, client, tmp_path):  # noqa: F811
    lic, buyer, _, _ = sold
    client.force_login(buyer)
    own = ca.issue_leaf(tmp_path / "lab-pki", "signer", org="Example Lab")
    url = f"/licenses/{lic.id}/signing/"
    response = client.post(url, {"action": "certificate", "certificate_pem": "not a pem"})
    assert response.status_code == 400 and "not PEM certificates" in response.content.decode()
    response = client.post(
        url,
        {
            "action": "certificate",
            "certificate_pem": own.cert_path.read_text(),
            "chain_pem": (tmp_path / "lab-pki" / "root.pem").read_text(),
        },
    )
    assert response.status_code == 200
    [cert] = BuyerCertificate.objects.filter(organization=buyer.organization)
    assert not cert.issued_by_outtake and "Example Lab" in cert.subject
