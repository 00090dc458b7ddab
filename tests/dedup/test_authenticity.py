"""Authenticity evidence: C2PA manifests signed here with a certificate made here, XMP and
generator metadata, through the real ingest (sandboxed analysis) and the API and pages."""

import io
import shutil
from pathlib import Path

import c2pa
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from outtake.accounts.services import attest_upload
from outtake.catalog.services import register_upload
from outtake.market.services import available_clips
from outtake.media.authenticity import IPTC_SOURCE_TYPE, evidence
from outtake.media.probe import probe
from outtake.provenance.ca import ensure_root, issue_leaf

FIXTURES = Path(__file__).parent.parent / "fixtures"
CAMERA = IPTC_SOURCE_TYPE + "digitalCapture"
AI = IPTC_SOURCE_TYPE + "trainedAlgorithmicMedia"


def signed_jpeg(folder: Path, source_type: str, generator: str) -> Path:
    """coffee.png as a JPEG with a C2PA manifest whose c2pa.created action gives source_type,
    signed by a certificate chained to a root made for the test (no network, no timestamp)."""
    pki = folder / "pki"
    root = ensure_root(pki, org="Test Camera Maker")
    leaf = issue_leaf(pki, "c2pa", org="Test Camera Maker")
    chain = leaf.cert_path.read_bytes() + root.cert_path.read_bytes()
    plain = io.BytesIO()
    Image.open(FIXTURES / "photo" / "coffee.png").convert("RGB").save(plain, "JPEG", quality=92)
    plain.seek(0)
    manifest = {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "title": "IMG_0001.JPG",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type}]},
            }
        ],
    }
    info = c2pa.C2paSignerInfo(b"es256", chain, leaf.key_path.read_bytes(), None)
    out = io.BytesIO()
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(c2pa.Signer.from_info(info), "image/jpeg", plain, out)
    path = folder / f"{generator}.jpg"
    path.write_bytes(out.getvalue())
    return path


def ingest(user, path: Path, folder: Path):
    upload = folder / f"partial-{path.name}"
    shutil.copy(path, upload)
    asset = register_upload(user, upload, path.name)  # jobs run inline in tests
    attest_upload(user, asset)
    asset.refresh_from_db()
    assert asset.status == "ready", asset.status_reason
    return asset


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def test_the_manifest_state_is_read_and_a_changed_byte_makes_it_invalid(tmp_path):
    path = signed_jpeg(tmp_path, CAMERA, "camera-firmware")
    found = evidence(path, probe(path))
    assert found["c2pa"]["state"] == "Valid" and found["c2pa"]["failures"] == []
    assert found["c2pa"]["signer"] == "Test Camera Maker c2pa"
    assert found["digital_source_types"] == [CAMERA] and not found["ai_generated"]
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF  # inside the JPEG's picture data, which the manifest hashes
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    after = evidence(tampered, probe(tampered))["c2pa"]
    assert after["state"] == "Invalid" and after["failures"]


def test_xmp_and_generator_metadata_say_ai_generated_and_a_plain_photo_does_not(tmp_path):
    picture = Image.open(FIXTURES / "photo" / "coffee.png").convert("RGB")
    xmp = PngInfo()
    xmp.add_itxt(
        "XML:com.adobe.xmp",
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/'
        f'Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="{AI}"/></rdf:RDF></x:xmpmeta>',
    )
    picture.save(tmp_path / "xmp.png", pnginfo=xmp)
    webui = PngInfo()
    webui.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1")
    picture.save(tmp_path / "webui.png", pnginfo=webui)
    for name in ("xmp.png", "webui.png"):
        found = evidence(tmp_path / name, probe(tmp_path / name))
        assert found["ai_generated"] and found["ai_reasons"], name
    plain = evidence(FIXTURES / "photo" / "coffee.png", probe(FIXTURES / "photo" / "coffee.png"))
    assert not plain["ai_generated"] and plain["c2pa"] is None
    assert "no C2PA manifest" in plain["signs"]
    video = FIXTURES / "video" / "bikes.mp4"
    found = evidence(video, probe(video))
    assert found["container"]["software"].startswith("Lavf") and found["container"]["rewritten"]
    assert not found["ai_generated"]


@pytest.mark.django_db(transaction=True)
def test_a_signed_camera_photo_shows_its_manifest_to_reviewers_and_buyers(
    client, make_user, tmp_path
):
    creator, buyer, reviewer = make_user("creator"), make_user("buyer"), make_user("reviewer")
    asset = ingest(creator, signed_jpeg(tmp_path, CAMERA, "camera-firmware"), tmp_path)
    assert asset.authenticity["c2pa"]["state"] == "Valid"
    assert asset.authenticity["c2pa"]["actions"] == ["c2pa.created"]
    clip = asset.clips.get()
    assert clip.sellable, clip.unsellable_reason

    full = client.get(f"/api/dedup/clips/{clip.id}/authenticity", **auth(reviewer)).json()
    assert full["authenticity"]["c2pa"]["signer"] == "Test Camera Maker c2pa"
    client.force_login(reviewer)
    admin = client.get(f"/admin/catalog/asset/{asset.id}/change/").content.decode()
    assert "Test Camera Maker c2pa" in admin and "digitalCapture" in admin
    shown = client.get(f"/api/dedup/clips/{clip.id}/authenticity", **auth(buyer))
    assert shown.status_code == 200
    facts = shown.json()["authenticity"]
    assert facts["c2pa"]["state"] == "Valid" and facts["digital_source_types"] == [CAMERA]
    assert "signer" not in facts["c2pa"] and "title" not in facts["c2pa"]  # pseudonymous

    body = {"title": "t", "media_type": "image", "photos_wanted": 5, "budget": "100"}
    made = client.post("/api/requests", body, content_type="application/json", **auth(buyer))
    assert made.json()["clip_count"] == 1, made.json()["excluded"]
    client.force_login(buyer)
    page = client.get(f"/quotes/{made.json()['id']}/").content.decode()
    assert "C2PA state" in page and "Valid" in page and "Test Camera Maker" not in page
    stranger = make_user("creator")
    missing = client.get(f"/api/dedup/clips/{clip.id}/authenticity", **auth(stranger))
    assert missing.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_photo_whose_c2pa_says_ai_generated_is_not_sold_as_camera_footage(
    client, make_user, tmp_path
):
    creator, buyer = make_user("creator"), make_user("buyer")
    asset = ingest(creator, signed_jpeg(tmp_path, AI, "image-model"), tmp_path)
    assert asset.authenticity["ai_generated"]
    clip = asset.clips.get()
    assert not clip.sellable
    assert "AI-generated" in clip.unsellable_reason
    assert "trainedAlgorithmicMedia" in clip.unsellable_reason
    assert not available_clips(buyer.organization).filter(pk=clip.pk).exists()
    body = {"title": "t", "media_type": "image", "photos_wanted": 5, "budget": "100"}
    made = client.post("/api/requests", body, content_type="application/json", **auth(buyer))
    assert made.json()["clip_count"] == 0
    client.force_login(creator)
    assert "not sold as camera footage" in client.get(f"/assets/{asset.id}/").content.decode()
