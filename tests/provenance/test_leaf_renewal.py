"""What signs with Outtake's certificates gets a key and certificate that pair, even while
another process (the web server, a worker) is renewing them, and never part of a file."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from outtake.audit.services import create_checkpoint, verify_all
from outtake.provenance import ca
from outtake.provenance.c2pa_sign import Signer
from outtake.provenance.pdfseal import seal_pdf
from outtake.provenance.signing import PACKAGE_PURPOSE, sign_detached, verify_detached
from outtake.provenance.verify_contract import verify_contract

DUE = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * ca.LEAF_YEARS)  # issued then: due now


def _pair(key_pem: bytes, cert_pem: bytes) -> bool:
    key = serialization.load_pem_private_key(key_pem, None)
    return key.public_key() == x509.load_pem_x509_certificate(cert_pem).public_key()


def _new_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def renewing_elsewhere(monkeypatch):
    """As soon as this process lets go of the signing folder's lock, another one takes it to
    renew: it has renamed its new key into place and not yet its certificate."""
    held = ca._locked

    @contextmanager
    def then_renewed_elsewhere(folder):
        with held(folder):
            yield
        if folder.name == "signing":
            for key in folder.glob("*.key"):
                key.write_bytes(_new_key_pem())

    monkeypatch.setattr(ca, "_locked", then_renewed_elsewhere)


def test_a_detached_signature_verifies_with_the_certificate_it_carries(
    tmp_path, renewing_elsewhere
):
    pki = tmp_path / "pki"
    sig = sign_detached(pki, b"MANIFEST")
    root = (pki / "root.pem").read_bytes()
    assert verify_detached(b"MANIFEST", sig, root, PACKAGE_PURPOSE) == (True, "")


def test_the_c2pa_signer_holds_the_key_of_its_certificate(tmp_path, renewing_elsewhere):
    chain, key = Signer(tmp_path / "pki").__getstate__()
    assert _pair(key, chain)  # the first certificate of the chain is the signer's


def test_a_seal_verifies(tmp_path, license_pdf, renewing_elsewhere):
    pki, sealed = tmp_path / "pki", tmp_path / "sealed.pdf"
    sealed.write_bytes(seal_pdf(license_pdf, pki, reason="accepted"))
    ok, [row] = verify_contract(sealed, pki / "root.pem")
    assert ok and row["seal"], row


@pytest.mark.django_db
def test_a_checkpoint_verifies(make_user, settings, tmp_path, renewing_elsewhere):
    settings.OUTTAKE_PKI_DIR = tmp_path / "pki"
    make_user("creator")
    create_checkpoint()
    assert verify_all() == (True, [])


def test_renewal_replaces_the_files_whole(tmp_path):
    pki = tmp_path / "pki"
    old = ca.issue_leaf(pki, PACKAGE_PURPOSE, now=DUE)
    was = (old.key_path.read_bytes(), old.cert_path.read_bytes())
    with open(old.key_path, "rb") as key, open(old.cert_path, "rb") as cert:
        new = ca.issue_leaf(pki, PACKAGE_PURPOSE)
        # A reader that opened the files before the renewal still reads the old ones whole.
        assert (key.read(), cert.read()) == was
    assert new.key_pem != was[0] and _pair(new.key_pem, new.cert_pem)
    assert (new.key_path.read_bytes(), new.cert_path.read_bytes()) == (new.key_pem, new.cert_pem)
    assert new.key_path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (pki / "signing").iterdir()) == [
        ".lock",
        "archive",
        "package.key",
        "package.pem",
    ]


@pytest.mark.parametrize("stopped_at", ["package.key", "package.pem"])
def test_a_renewal_stopped_halfway_is_finished_by_the_next_one(tmp_path, monkeypatch, stopped_at):
    pki = tmp_path / "pki"
    old = ca.issue_leaf(pki, PACKAGE_PURPOSE, now=DUE)
    rename = os.replace

    def stopped(src, dst):
        if Path(dst).name == stopped_at:
            raise OSError("disk full")
        rename(src, dst)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", stopped)
        with pytest.raises(OSError, match="disk full"):
            ca.issue_leaf(pki, PACKAGE_PURPOSE)

    leaf = ca.issue_leaf(pki, PACKAGE_PURPOSE)
    assert leaf.cert_pem != old.cert_pem and _pair(leaf.key_pem, leaf.cert_pem)
    assert not [p for p in (pki / "signing").iterdir() if p.name.startswith(".package")]
