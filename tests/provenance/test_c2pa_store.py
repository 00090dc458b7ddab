"""The certificate that signed a C2PA manifest, read from the store in each container."""

from __future__ import annotations

import io
import json

import c2pa
import pytest
from cryptography import x509
from PIL import Image

from outtake.core.terms import USES
from outtake.provenance.c2pa_sign import Signer, manifest_definition, read_state
from outtake.provenance.c2pa_store import signer_certificate
from tests.delivery.packages import camera_signed_jpeg


def _picture(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(out, format=fmt)
    return out.getvalue()


def _signed(pki, mime: str, data: bytes, assertion_bytes: int = 0) -> tuple[bytes, str]:
    """data signed by Outtake's C2PA certificate: (file, active manifest label)."""
    manifest = manifest_definition(
        title="sample",
        edits=[],
        states={code: {"state": "allowed", "constraint": ""} for code in USES},
        license_assertion={"license": "l", "padding": "x" * assertion_bytes},
    )
    out = io.BytesIO()
    Signer(pki).sign(
        manifest,
        mime,
        io.BytesIO(data),
        out,
        original=io.BytesIO(data),
        original_mime=mime,
        original_title="asset 1",
    )
    state, active, _ = read_state(out.getvalue(), mime, (pki / "root.pem").read_bytes())
    assert state == "Trusted"
    return out.getvalue(), active["label"]


@pytest.mark.parametrize(
    ("mime", "fmt", "padding"),
    [
        ("image/png", "PNG", 0),
        ("image/webp", "WEBP", 0),
        # A store larger than one JPEG segment is split over several APP11 segments.
        ("image/jpeg", "JPEG", 200_000),
    ],
)
def test_outtakes_c2pa_certificate_is_read_from_each_container(pki, mime, fmt, padding):
    data, label = _signed(pki, mime, _picture(fmt), padding)
    if padding:
        assert data.count(b"\xff\xeb") > 1
    cert = signer_certificate(data, label)
    ours = x509.load_pem_x509_certificate((pki / "signing" / "c2pa.pem").read_bytes())
    assert cert == ours
    assert signer_certificate(data, "urn:c2pa:another-manifest") is None


def test_another_signers_certificate_is_read_as_it_is(tmp_path):
    data = camera_signed_jpeg(tmp_path)
    with c2pa.Reader("image/jpeg", io.BytesIO(data)) as reader:
        label = json.loads(reader.json())["active_manifest"]
    cert = signer_certificate(data, label)
    assert cert.subject.rfc4514_string() == "O=Camera Maker,CN=Camera Maker c2pa"
    assert signer_certificate(b"\xff\xd8\xff\xeb\x00", label) is None  # a broken segment
