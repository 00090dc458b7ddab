"""The CA renews Outtake's signing certificates before they expire and keeps the old ones."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from pyhanko.sign.signers import pdf_signer

from outtake.provenance import ca, pdfseal
from outtake.provenance.verify_contract import verify_contract

NOW = dt.datetime.now(dt.UTC)


def _cert(issued: ca.Issued) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued.cert_path.read_bytes())


@pytest.mark.parametrize(
    "issued_at",
    [
        NOW - dt.timedelta(days=365 * ca.LEAF_YEARS + 1),  # expired yesterday
        NOW - dt.timedelta(days=365 * ca.LEAF_YEARS - 10),  # expires in 10 days
    ],
)
def test_an_expired_or_expiring_leaf_is_renewed_and_the_old_one_kept(tmp_path, issued_at):
    pki = tmp_path / "pki"
    old = _cert(ca.issue_leaf(pki, "package", now=issued_at))
    assert old.not_valid_after_utc - NOW < ca.RENEW_BEFORE

    renewed = _cert(ca.issue_leaf(pki, "package"))
    assert renewed.not_valid_after_utc > NOW + dt.timedelta(days=365 * ca.LEAF_YEARS - 1)
    assert renewed.public_key() != old.public_key()  # a new key, not a re-dated certificate
    assert ca.certificates(pki, "package") == [renewed, old]
    assert _cert(ca.issue_leaf(pki, "package")) == renewed  # a valid one is reused


def test_a_seal_made_before_its_certificate_expired_still_verifies(
    tmp_path, license_pdf, monkeypatch
):
    pki = tmp_path / "pki"
    issued_at = NOW - dt.timedelta(days=365 * ca.LEAF_YEARS + 30)
    then = ca.issue_leaf(pki, pdfseal.PDF_SEAL_PURPOSE, eku=list(pdfseal.SEAL_EKU), now=issued_at)
    expired = _cert(then)
    assert expired.not_valid_after_utc < NOW

    class Then(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return issued_at + dt.timedelta(days=100)

    # A seal made back when the certificate was valid: pyHanko's clock set back to then, and
    # the certificate of then (today issue_leaf would renew it first).
    with monkeypatch.context() as m:
        m.setattr(pdf_signer, "datetime", Then)
        m.setattr(pdfseal, "issue_seal_certificate", lambda _: then)
        old = tmp_path / "old.pdf"
        old.write_bytes(pdfseal.seal_pdf(license_pdf, pki, reason="back then"))
    ok, [row] = verify_contract(old, pki / "root.pem")
    assert ok and row["seal"], row
    assert row["signed_at"].startswith(str((issued_at + dt.timedelta(days=100)).year))

    # Sealing today renews the certificate first; the old document still verifies.
    new = tmp_path / "new.pdf"
    new.write_bytes(pdfseal.seal_pdf(license_pdf, pki, reason="today"))
    ok, [row] = verify_contract(new, pki / "root.pem")
    assert ok and row["seal"]
    current, *archived = ca.certificates(pki, pdfseal.PDF_SEAL_PURPOSE)
    assert current.not_valid_after_utc > NOW and archived == [expired]
    assert verify_contract(old, pki / "root.pem")[0]
