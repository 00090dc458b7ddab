"""Outtake's own certificate authority, generated into OUTTAKE_HOME/pki on first start.

Layout:
  pki/root.key, pki/root.pem                 the installation's root CA (P-256)
  pki/signing/<purpose>.key, <purpose>.pem   Outtake's own signing certificates (pdf-seal, c2pa,
                                             package, audit-checkpoint), issued by the root
  pki/signing/archive/<purpose>/<sha256>.pem those certificates after renewal, kept so what they
                                             signed still verifies (their keys are not kept)
  pki/ca/buyer.key, buyer.pem                the intermediate CA that certifies buyers' keys
  pki/buyer/<serial>.pem                     the buyer certificates it issued

Only Outtake's own certificates are issued by the root itself; everyone else's come from an
intermediate, so a buyer's certificate can never pass for one of Outtake's seals.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_YEARS = 20
LEAF_YEARS = 3
# A signing certificate this close to its end is replaced before anything is signed with it.
RENEW_BEFORE = dt.timedelta(days=30)
BUYER_PURPOSE = "buyer"


@dataclass(frozen=True)
class Issued:
    key_path: Path
    cert_path: Path


@dataclass(frozen=True)
class Leaf(Issued):
    """A signing certificate and its key as read together under the issuing lock: sign with
    these bytes, not the files, which another process may be renewing."""

    key_pem: bytes
    cert_pem: bytes


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a certificate's DER encoding, hex: how records name a certificate."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _replace(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file under a temporary name, then rename it over path: a reader sees the old
    file or the new one whole, never part of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


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
    _replace(key_path, _private_pem(key), 0o600)
    _replace(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return Issued(key_path, cert_path)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One issuer or reader at a time (the web server and workers share the folder), so a key
    is never paired with another process's certificate."""
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def issue_leaf(
    pki: Path,
    purpose: str,
    *,
    eku: list[x509.ObjectIdentifier] | None = None,
    org: str = "Outtake",
    now: dt.datetime | None = None,
) -> Leaf:
    """The current signing certificate for one of Outtake's purposes, chained to the root,
    with its key: issued on first use, and renewed with a new key once it is within
    RENEW_BEFORE of its end. The replaced certificate moves to the archive. `now` is the
    issuing moment (the clock unless given)."""
    now = now or dt.datetime.now(dt.UTC)
    root = ensure_root(pki, org)
    out = pki / "signing"
    out.mkdir(exist_ok=True)
    key_path, cert_path = out / f"{purpose}.key", out / f"{purpose}.pem"
    with _locked(out):
        if key_path.exists() and cert_path.exists():
            current = _load(cert_path)
            if current.not_valid_after_utc - RENEW_BEFORE > now:
                return Leaf(key_path, cert_path, key_path.read_bytes(), cert_path.read_bytes())
            archive = out / "archive" / purpose
            archive.mkdir(parents=True, exist_ok=True)
            _replace(archive / f"{fingerprint(current)}.pem", cert_path.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _end_entity(root, _name(f"{org} {purpose}", org), key.public_key(), eku, now)
        key_pem, cert_pem = _private_pem(key), cert.public_bytes(serialization.Encoding.PEM)
        # The key first: a process stopped between the two leaves the old certificate, due for
        # renewal (or none), so the next call issues a new pair rather than use a mismatched one.
        _replace(key_path, key_pem, 0o600)
        _replace(cert_path, cert_pem)
    return Leaf(key_path, cert_path, key_pem, cert_pem)


def certificates(pki: Path, purpose: str) -> list[x509.Certificate]:
    """Every certificate Outtake has had for a purpose: the current one first, then those it
    replaced. Verifiers look up a signature's certificate here by fingerprint."""
    current = pki / "signing" / f"{purpose}.pem"
    archived = sorted((pki / "signing" / "archive" / purpose).glob("*.pem"))
    return [_load(p) for p in [current, *archived] if p.exists()]


def is_own_certificate(cert: x509.Certificate, root: x509.Certificate, purpose: str) -> bool:
    """Whether cert is one of Outtake's own certificates for purpose under this root: issued by
    the root itself (others' certificates come from an intermediate) under the name
    issue_leaf gives that purpose. Needs nothing but the root, so anyone can check it offline."""
    orgs = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    org = str(orgs[0].value) if orgs else ""
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return cert.subject == _name(f"{org} {purpose}", org)


def ensure_intermediate(pki: Path, name: str = BUYER_PURPOSE, org: str = "Outtake") -> Issued:
    """An intermediate CA under the root for certificates of others (buyers), created once."""
    root = ensure_root(pki, org)
    out = pki / "ca"
    out.mkdir(exist_ok=True)
    key_path, cert_path = out / f"{name}.key", out / f"{name}.pem"
    with _locked(out):
        if key_path.exists() and cert_path.exists():
            return Issued(key_path, cert_path)
        root_key = serialization.load_pem_private_key(root.key_path.read_bytes(), None)
        root_cert = _load(root.cert_path)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{org} {name} CA", org))
            .issuer_name(root_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(root_cert.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),
                critical=False,
            )
            .sign(root_key, hashes.SHA256())
        )
        _replace(key_path, _private_pem(key), 0o600)
        _replace(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return Issued(key_path, cert_path)


def _end_entity(
    issuer: Issued,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    eku: list[x509.ObjectIdentifier] | None,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """A signing (not CA) certificate for a public key, issued by a CA of this installation."""
    issuer_key = serialization.load_pem_private_key(issuer.key_path.read_bytes(), None)
    issuer_cert = _load(issuer.cert_path)
    now = now or dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
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
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
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


def issue_from_csr(
    pki: Path,
    csr_pem: bytes,
    *,
    common_name: str,
    org: str,
    purpose: str = BUYER_PURPOSE,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> bytes:
    """Certify someone else's key (a buyer's CSR) from the intermediate CA of its purpose;
    returns the PEM.

    The subject is Outtake's statement of who the holder is, not what the CSR claims; the
    purpose is in the organizational unit. The private key never leaves the holder.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not verify")
    issuer = ensure_intermediate(pki, purpose)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, purpose),
        ]
    )
    cert = _end_entity(issuer, subject, csr.public_key(), eku)
    issued = pki / purpose
    issued.mkdir(exist_ok=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    _replace(issued / f"{cert.serial_number:x}.pem", pem)
    return pem
