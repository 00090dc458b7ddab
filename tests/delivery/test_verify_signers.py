"""`outtake verify` checks who signed: every signature by Outtake's certificate for its purpose.

Buyers' certificates and Outtake's certificates for other purposes chain to the same root, so
"issued under Outtake's root" (or c2pa's Trusted) is not enough."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from outtake.delivery import services
from outtake.provenance import ca
from outtake.provenance.c2pa_sign import C2PA_PURPOSE, MIME, Signer, read_state
from outtake.provenance.signing import (
    CHECKPOINT_PURPOSE,
    PACKAGE_PURPOSE,
    dumps_canonical,
    sign_detached,
)
from outtake.provenance.verify_package import FolderPackage, verify
from tests.delivery.packages import build_package, media_of


def _root() -> bytes:
    return (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()


def _failed(folder: Path) -> dict[str, str]:
    return {c.name: c.detail for c in verify(FolderPackage(folder), _root()) if not c.ok}


def _buyer_signer() -> Signer:
    """A C2PA signer with a buyer's certificate, certified through the buyer CA's CSR path,
    under the very names of Outtake's own C2PA certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outtake c2pa")]))
        .sign(key, hashes.SHA256())
    )
    pki = settings.OUTTAKE_PKI_DIR
    cert = ca.issue_from_csr(
        pki,
        csr.public_bytes(serialization.Encoding.PEM),
        common_name="Outtake c2pa",
        org="Outtake",
    )
    chain = cert + (pki / "ca" / f"{ca.BUYER_PURPOSE}.pem").read_bytes()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = Signer.__new__(Signer)
    signer.__setstate__((chain, pem))  # as a packaging worker receives one
    return signer


def test_media_signed_by_a_buyer_certificate_fails(db, make_user, tmp_path, monkeypatch):
    buyer_signer = _buyer_signer()
    monkeypatch.setattr(services, "Signer", lambda pki: buyer_signer)
    _, folder, *_ = build_package(make_user, tmp_path)
    rows = pq.read_table(folder / "index.parquet").to_pylist()
    for row in rows:  # c2pa alone trusts it: the buyer CA chains to Outtake's root
        mime = MIME["." + row["media"].rsplit(".", 1)[1]]
        assert read_state(media_of(folder, row), mime, _root())[0] == "Trusted"
    failed = _failed(folder)
    assert set(failed) == {"C2PA"}, failed  # the package itself is signed as it should be
    assert f"not Outtake's {C2PA_PURPOSE} certificate" in failed["C2PA"]
    assert failed["C2PA"].count("OU=buyer") == len(rows) == 2


def _sign_manifest(folder: Path, purpose: str) -> None:
    """MANIFEST.sha256 written anew over the files and signed with Outtake's purpose leaf."""
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(folder).as_posix()}"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith("MANIFEST.sha256")
    ]
    sums = ("\n".join(lines) + "\n").encode()
    (folder / "MANIFEST.sha256").write_bytes(sums)
    signature = sign_detached(settings.OUTTAKE_PKI_DIR, sums, purpose)
    (folder / "MANIFEST.sha256.sig").write_bytes(dumps_canonical(signature))


def _sign_checkpoint(folder: Path, purpose: str) -> None:
    """The audit head's checkpoint statement signed again, with Outtake's purpose leaf."""
    head = json.loads((folder / "audit_head.json").read_text())
    checkpoint = head["checkpoint"]
    signed = sign_detached(settings.OUTTAKE_PKI_DIR, checkpoint["statement"].encode(), purpose)
    checkpoint.update(certificate=signed["certificate"], signature=signed["signature"])
    (folder / "audit_head.json").write_text(json.dumps(head))


def test_manifest_and_checkpoint_need_their_own_certificates_renewed_ones_too(
    package, tmp_path, monkeypatch
):
    _, folder, *_ = package
    assert _failed(folder) == {}

    by_c2pa = shutil.copytree(folder, tmp_path / "manifest-by-c2pa")
    _sign_manifest(by_c2pa, C2PA_PURPOSE)
    assert _failed(by_c2pa) == {
        "manifest signature": "signed by O=Outtake,CN=Outtake c2pa, "
        "not Outtake's package certificate"
    }

    by_package = shutil.copytree(folder, tmp_path / "checkpoint-by-package")
    _sign_checkpoint(by_package, PACKAGE_PURPOSE)
    _sign_manifest(by_package, PACKAGE_PURPOSE)
    assert _failed(by_package) == {
        "audit head": "checkpoint signed by O=Outtake,CN=Outtake package, "
        "not Outtake's audit-checkpoint certificate"
    }

    # Every leaf renewed (the old ones archived): the package signed by the old ones still
    # verifies, and so do documents signed by the new ones.
    pki = settings.OUTTAKE_PKI_DIR
    monkeypatch.setattr(ca, "RENEW_BEFORE", dt.timedelta(days=365 * ca.LEAF_YEARS))
    purposes = (C2PA_PURPOSE, PACKAGE_PURPOSE, CHECKPOINT_PURPOSE)
    before = {p: ca.fingerprint(ca.certificates(pki, p)[0]) for p in purposes}
    renewed = shutil.copytree(folder, tmp_path / "renewed")
    ca.issue_leaf(pki, C2PA_PURPOSE)
    _sign_checkpoint(renewed, CHECKPOINT_PURPOSE)
    _sign_manifest(renewed, PACKAGE_PURPOSE)
    for purpose in purposes:
        current, *archived = [ca.fingerprint(c) for c in ca.certificates(pki, purpose)]
        assert current != before[purpose] and before[purpose] in archived, purpose
    assert _failed(folder) == {}
    assert _failed(renewed) == {}
