"""Detached ECDSA signatures with a certificate from Outtake's CA (pure Python)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from outtake.provenance.ca import is_own_certificate, issue_leaf

PACKAGE_PURPOSE = "package"
# The certificate the audit chain's checkpoints are signed with (audit.services).
CHECKPOINT_PURPOSE = "audit-checkpoint"


def sign_detached(pki: Path, data: bytes, purpose: str = PACKAGE_PURPOSE) -> dict:
    """A JSON-able detached signature: the algorithm, the signer's certificate, the value."""
    leaf = issue_leaf(pki, purpose)
    key = serialization.load_pem_private_key(leaf.key_pem, None)
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return {
        "alg": "ES256",
        "certificate": leaf.cert_pem.decode(),
        "signature": base64.b64encode(signature).decode(),
    }


def verify_detached(
    data: bytes, sig: dict, root_pem: bytes, purpose: str = PACKAGE_PURPOSE
) -> tuple[bool, str]:
    """Check the signature and that its certificate is Outtake's own for purpose under the
    given root (a renewed one too), not a buyer's or one for another purpose."""
    try:
        cert = x509.load_pem_x509_certificate(sig["certificate"].encode())
        root = x509.load_pem_x509_certificate(root_pem)
        if not is_own_certificate(cert, root, purpose):
            return (
                False,
                f"signed by {cert.subject.rfc4514_string()}, not Outtake's {purpose} certificate",
            )
        cert.public_key().verify(
            base64.b64decode(sig["signature"]), data, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError, KeyError, TypeError) as exc:
        return False, f"signature invalid: {exc.__class__.__name__}"
    return True, ""


def dumps_canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False).encode()
