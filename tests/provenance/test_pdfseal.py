import datetime as dt
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter

from outtake.provenance import ca
from outtake.provenance.pdfseal import (
    BUYER_FIELD,
    DOCUMENT_SIGNING,
    SEAL_FIELD,
    cosign_pdf,
    issue_seal_certificate,
    seal_pdf,
    verify_pdf,
)
from outtake.provenance.verify_contract import missing_seal, verify_contract


@pytest.fixture(scope="module")
def sealed(license_pdf, pki, tmp_path_factory):
    path = tmp_path_factory.mktemp("sealed") / "license.pdf"
    path.write_bytes(seal_pdf(license_pdf, pki, reason="Dataset license accepted"))
    return path


@pytest.fixture(scope="module")
def buyer_pki(tmp_path_factory):
    """The buyer's own CA, unrelated to Outtake's: its certificate is issued elsewhere."""
    path = tmp_path_factory.mktemp("buyer") / "pki"
    return path, ca.issue_leaf(path, "signer", org="Example Vision Lab Ltd")


@pytest.fixture(scope="module")
def cosigned(sealed, buyer_pki, tmp_path_factory):
    path_pki, issued = buyer_pki
    out = tmp_path_factory.mktemp("cosigned") / "license.pdf"
    out.write_bytes(
        cosign_pdf(
            sealed.read_bytes(),
            issued.key_path,
            issued.cert_path,
            chain_pems=(path_pki / "root.pem",),
        )
    )
    return out


def test_seal_certificate_is_its_own_purpose(pki):
    cert = x509.load_pem_x509_certificate(issue_seal_certificate(pki).cert_path.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in eku
    assert x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION not in eku  # that is C2PA's
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((pki / "root.pem").read_bytes()))
    assert (pki / "signing" / "pdf-seal.pem").exists()


def test_seal_validates_offline_against_outtakes_root(sealed, pki):
    ok, rows = verify_contract(sealed, pki / "root.pem")
    assert ok
    [row] = rows
    assert row["field"] == SEAL_FIELD
    assert row["signer"].startswith("Outtake pdf-seal")
    assert row["intact"] and row["valid"] and row["trusted"] and row["certified"]
    assert row["coverage"] == "entire file"
    assert dt.datetime.fromisoformat(row["signed_at"])


def test_buyer_cosignature_validates_and_keeps_the_seal(cosigned, pki, buyer_pki):
    buyer_root = buyer_pki[0] / "root.pem"
    ok, rows = verify_contract(cosigned, pki / "root.pem", [buyer_root])
    assert ok, rows
    seal, buyer = rows
    assert seal["field"] == SEAL_FIELD and seal["coverage"] == "earlier revision"
    assert seal["changes_after"] == "form filling"  # what the certification allows
    assert buyer["field"] == BUYER_FIELD and buyer["signer"].startswith("Example Vision Lab")
    assert buyer["intact"] and buyer["trusted"] and buyer["coverage"] == "entire file"


def test_buyer_signature_untrusted_without_the_buyers_root(cosigned, pki):
    ok, rows = verify_contract(cosigned, pki / "root.pem")
    assert not ok
    seal, buyer = rows
    assert seal["ok"]
    assert buyer["intact"] and buyer["valid"] and not buyer["trusted"]
    assert buyer["error"].startswith("not trusted")


def test_unknown_root_reports_not_trusted(sealed, tmp_path):
    other = ca.ensure_root(tmp_path / "other-pki", org="Someone Else")
    ok, [row] = verify_contract(sealed, other.cert_path)
    assert not ok
    assert row["intact"] and not row["trusted"]


def _signed_range_and_first_page_stream(pdf: bytes) -> tuple[int, int]:
    """The end of the first signed range, and the offset of the first page's content stream."""
    reader = PdfFileReader(io.BytesIO(pdf))
    [sig] = reader.embedded_signatures
    contents = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    header = pdf.index(b"%d 0 obj" % contents.idnum)
    return sig.byte_range[1], pdf.index(b"stream\n", header) + len(b"stream\n")


def test_one_changed_byte_in_the_signed_range_breaks_the_seal(sealed, pki, tmp_path):
    pdf = bytearray(sealed.read_bytes())
    first_range_end, stream = _signed_range_and_first_page_stream(bytes(pdf))
    # A byte of the contract's own text (page 1's content stream): inside the first signed
    # range, so neither in the signature's /Contents nor after %%EOF.
    target = stream + 100
    assert target < pdf.index(b"endstream", stream)
    assert target < first_range_end and target < pdf.index(b"%%EOF")
    pdf[target] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(pdf))

    ok, [row] = verify_contract(tampered, pki / "root.pem")
    assert not ok
    assert not row["intact"]
    assert row["error"] == "the signed bytes were changed after signing"


def test_unsigned_pdf_is_not_a_sealed_contract(license_pdf, pki, tmp_path):
    path = tmp_path / "unsigned.pdf"
    path.write_bytes(license_pdf)
    assert verify_contract(path, pki / "root.pem") == (False, [])


def test_garbage_is_reported_not_raised(pki, tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\nnot really a pdf")
    ok, [row] = verify_contract(path, pki / "root.pem")
    assert not ok and row["error"].startswith("unreadable PDF")


def test_verify_pdf_reports_dataclasses(sealed, pki):
    [report] = verify_pdf(sealed, pki / "root.pem")
    assert report.ok and report.as_dict()["ok"]


def test_verify_contract_command(sealed, pki, tmp_path):
    import subprocess
    import sys

    data = sealed.read_bytes()
    path = tmp_path / "license.pdf"
    path.write_bytes(data)
    run = [
        sys.executable,
        "-m",
        "outtake.cli",
        "verify-contract",
        str(path),
        "--root",
        str(pki / "root.pem"),
    ]
    ok = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "contract valid" in ok.stderr and "NOT valid" not in ok.stderr
    tampered = bytearray(data)
    tampered[data.index(b"/Producer") + 2] ^= 1
    path.write_bytes(bytes(tampered))
    bad = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "contract NOT valid" in bad.stderr


def _blank_pdf() -> bytes:
    writer = PdfFileWriter()
    box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): box,
            }
        )
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _forge_seal(pdf: bytes, key_path, cert_path, chain=()) -> bytes:
    """Exactly what seal_pdf does, with someone else's key: the seal's field, a certification."""
    signer = signers.SimpleSigner.load(
        str(key_path), str(cert_path), ca_chain_files=tuple(str(p) for p in chain)
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name="Outtake",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()


def _buyer_from_csr(pki, tmp_path):
    """A buyer certificate Outtake issued from a CSR, named as much like the seal as allowed."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outtake pdf-seal")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    pem = ca.issue_from_csr(
        pki, csr, common_name="Outtake pdf-seal", org="Outtake", eku=[DOCUMENT_SIGNING]
    )
    key_path, cert_path = tmp_path / "buyer.key", tmp_path / "buyer.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(pem)
    return key_path, cert_path


def test_a_buyer_certificate_cannot_forge_the_seal(pki, tmp_path):
    key_path, cert_path = _buyer_from_csr(pki, tmp_path)
    buyer_ca = ca.ensure_intermediate(pki).cert_path
    assert x509.load_pem_x509_certificate(cert_path.read_bytes()).issuer == (
        x509.load_pem_x509_certificate(buyer_ca.read_bytes()).subject
    )  # buyers are certified by the intermediate, never by the root itself
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(_forge_seal(_blank_pdf(), key_path, cert_path, (buyer_ca, pki / "root.pem")))

    ok, [row] = verify_contract(forged, pki / "root.pem")
    assert not ok and not row["seal"] and not row["trusted"]
    assert missing_seal([row]).startswith("no seal by Outtake's pdf-seal certificate")
    # Even trusted, the buyer's signature is the buyer's: it never stands in for the seal.
    ok, [row] = verify_contract(forged, pki / "root.pem", [cert_path])
    assert row["ok"] and not row["seal"]
    assert not ok


def test_outtakes_other_certificates_cannot_forge_the_seal(pki, tmp_path):
    for purpose in ("c2pa", "package", "audit-checkpoint"):
        leaf = ca.issue_leaf(pki, purpose)
        forged = tmp_path / f"{purpose}.pdf"
        forged.write_bytes(_forge_seal(_blank_pdf(), leaf.key_path, leaf.cert_path))
        ok, [row] = verify_contract(forged, pki / "root.pem")
        assert not ok and not row["seal"], purpose


def test_only_outtakes_seal_certificate_is_the_seal(pki, tmp_path):
    seal = issue_seal_certificate(pki)
    forged = tmp_path / "genuine.pdf"
    forged.write_bytes(_forge_seal(_blank_pdf(), seal.key_path, seal.cert_path))
    ok, [row] = verify_contract(forged, pki / "root.pem")
    assert ok and row["seal"]  # the same path with the real key: the control for the two above


def test_a_cosignature_is_judged_now_not_at_the_time_it_states(sealed, pki, tmp_path, monkeypatch):
    import subprocess
    import sys

    from pyhanko.sign.signers import pdf_signer

    issued_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * ca.LEAF_YEARS + 30)
    buyer_pki = tmp_path / "buyer-pki"
    issued = ca.issue_leaf(buyer_pki, "signer", org="Example Vision Lab Ltd", now=issued_at)

    class BackThen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return issued_at + dt.timedelta(days=100)

    # Signed stating a time when the certificate was valid: the signer's own word.
    with monkeypatch.context() as m:
        m.setattr(pdf_signer, "datetime", BackThen)
        signed = cosign_pdf(
            sealed.read_bytes(),
            issued.key_path,
            issued.cert_path,
            chain_pems=(buyer_pki / "root.pem",),
        )
    path = tmp_path / "cosigned.pdf"
    path.write_bytes(signed)
    # Trusting the signer's root or the expired certificate itself (pyHanko leaves a trust
    # anchor's dates unchecked): either way the co-signature does not count today.
    for trust in (buyer_pki / "root.pem", issued.cert_path):
        ok, [seal, buyer] = verify_contract(path, pki / "root.pem", [trust])
        assert not ok and seal["ok"], trust
        assert buyer["intact"] and buyer["valid"] and not buyer["trusted"] and not buyer["ok"]
        assert "its certificate expired on" in buyer["error"]
    run = [sys.executable, "-m", "outtake.cli", "verify-contract", str(path)]
    run += ["--root", str(pki / "root.pem"), "--trust", str(issued.cert_path)]
    cli = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and "contract NOT valid" in cli.stderr, cli.stdout + cli.stderr
