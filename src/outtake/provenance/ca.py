"""Outtake's own certificate authority, generated into OUTTAKE_HOME/pki on first start.

Layout (the rights and delivery issues add leaf certificates under the same root):
  pki/root.key, pki/root.pem                 the installation's root CA (P-256)
  pki/signing/<purpose>.key, <purpose>.pem   end-entity certificates issued by the root
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_YEARS = 20
LEAF_YEARS = 3


@dataclass(frozen=True)
class Issued:
    key_path: Path
    cert_path: Path


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a certificate's DER encoding, hex: how records name a certificate."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )


def ensure_root(pki: Path, org: str = "Outtake") -> Issued:
    """Create the root CA once; later calls return the existing one."""
    pki.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = pki / "root.key", pki / "root.pem"
    if key_path.exists() and cert_path.exists():
        return Issued(key_path, cert_path)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name(f"{org} Root CA", org)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(key_path, cert_path)


def issue_leaf(
    pki: Path, purpose: str, *, eku: list[x509.ObjectIdentifier] | None = None, org: str = "Outtake"
) -> Issued:
    """Issue (once) an end-entity signing certificate for one purpose, chained to the root."""
    root = ensure_root(pki, org)
    out = pki / "signing"
    out.mkdir(exist_ok=True)
    key_path, cert_path = out / f"{purpose}.key", out / f"{purpose}.pem"
    if key_path.exists() and cert_path.exists():
        return Issued(key_path, cert_path)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _end_entity(root, _name(f"{org} {purpose}", org), key.public_key(), eku)
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(key_path, cert_path)


def _end_entity(
    root: Issued,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    eku: list[x509.ObjectIdentifier] | None,
) -> x509.Certificate:
    """A signing (not CA) certificate for a public key, issued by the root."""
    root_key = serialization.load_pem_private_key(root.key_path.read_bytes(), None)
    root_cert = x509.load_pem_x509_certificate(root.cert_path.read_bytes())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(eku or [ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """A CA signs certificates; an end entity signs documents (with non-repudiation)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


BUYER_PURPOSE = "buyer"


def issue_from_csr(
    pki: Path,
    csr_pem: bytes,
    *,
    common_name: str,
    org: str,
    purpose: str = BUYER_PURPOSE,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> bytes:
    """Certify someone else's key (a buyer's CSR) under a purpose of its own; returns the PEM.

    The subject is Outtake's statement of who the holder is, not what the CSR claims; the
    purpose is in the organizational unit so a validator can tell it from Outtake's own seals.
    The private key never leaves the holder.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not verify")
    root = ensure_root(pki)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, purpose),
        ]
    )
    cert = _end_entity(root, subject, csr.public_key(), eku)
    issued = pki / purpose
    issued.mkdir(exist_ok=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (issued / f"{cert.serial_number:x}.pem").write_bytes(pem)
    return pem
