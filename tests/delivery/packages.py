"""A real delivery built in process from the fixtures: a video clip, a photo with private Exif."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import c2pa
import numpy as np
from django.utils import timezone
from PIL import Image

from outtake.audit.services import create_checkpoint
from outtake.core.terms import default_terms
from outtake.delivery import services
from outtake.delivery.models import Delivery
from outtake.provenance.bmff import boxes
from outtake.provenance.ca import issue_leaf
from outtake.storage import get_store
from tests.factories import license_for, ready_clip

FIXTURES = Path(__file__).parent.parent / "fixtures"
VIDEO = FIXTURES / "video" / "bigbuckbunny.mp4"


def gps_jpeg(tmp_path: Path) -> Path:
    """A JPEG with a camera serial, GPS and a name in its Exif, rotated by orientation 6."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0xA431] = "SN-SECRET-42"  # BodySerialNumber
    exif[0x010F] = "SecretCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.1234), 3: "E", 4: (2.0, 17.0, 40.2)})
    path = tmp_path / "holiday-at-home.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(
        path, exif=exif.tobytes(), comment=b"my home"
    )
    return path


# What a camera's own C2PA manifest says that a delivery must not pass on.
CAMERA_PRIVATE = (b"SN-CAM-777", b"48,51.5012N", b"2,17.6700E", b"Anna Example")


def camera_signed_jpeg(tmp_path: Path) -> bytes:
    """gps_jpeg signed as a C2PA camera does, under the camera maker's own CA: its manifest
    carries the body serial and GPS (stds.exif), the photographer (schema.org) and a
    thumbnail of the whole picture."""
    issued = issue_leaf(tmp_path / "camera-pki", "c2pa", org="Camera Maker")
    chain = issued.cert_path.read_bytes() + (tmp_path / "camera-pki" / "root.pem").read_bytes()
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(b"es256", chain, issued.key_path.read_bytes(), None)
    )
    capture = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    manifest = {
        "claim_generator_info": [{"name": "Camera Maker firmware", "version": "1.0"}],
        "title": "DSC_0042.JPG",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": capture}]},
            },
            {
                "label": "stds.exif",
                "data": {
                    "@context": {"exif": "http://ns.adobe.com/exif/1.0/"},
                    "exif:BodySerialNumber": CAMERA_PRIVATE[0].decode(),
                    "exif:GPSLatitude": CAMERA_PRIVATE[1].decode(),
                    "exif:GPSLongitude": CAMERA_PRIVATE[2].decode(),
                },
            },
            {
                "label": "stds.schema-org.CreativeWork",
                "data": {
                    "@context": "https://schema.org",
                    "@type": "CreativeWork",
                    "author": [{"@type": "Person", "name": CAMERA_PRIVATE[3].decode()}],
                },
            },
        ],
    }
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": True}}})
    out = io.BytesIO()
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(gps_jpeg(tmp_path).read_bytes()), out)
    return out.getvalue()


def licensed_clips(make_user, tmp_path: Path):
    """A paid license of a 2 s video clip and a photo: (license, video clip, photo clip, buyer)."""
    creator, buyer = make_user("creator"), make_user("buyer")
    video = ready_clip(creator, duration_s=5.3, tags=("beach",))
    photo = ready_clip(creator, kind="image", duration_s=0)
    jpeg = gps_jpeg(tmp_path)
    for clip, source in ((video, VIDEO), (photo, jpeg)):
        asset = clip.asset
        asset.blob_key = f"originals/{asset.id}{source.suffix}"
        asset.sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
        asset.save()
        get_store().put_bytes(asset.blob_key, source.read_bytes())
    video.start_s, video.end_s, video.pdq = 1.0, 3.0, [{"t": 1.0, "hash": "ab" * 32}]
    video.tags = ["static_camera", "aerial"]
    video.save()
    photo.tags = ["night"]
    photo.save()
    license = license_for(buyer, [(video, 300), (photo, 40)])
    terms = default_terms()
    terms["uses"]["ai_inference"] = {"state": "constrained", "constraint": "no faces"}
    license.items.update(terms_snapshot={"version": 1, "terms": terms})
    license.uses = ["ai_training", "ai_inference"]
    license.accepted_constraints = ["ai_inference"]
    license.paid_at = timezone.now()
    license.save()
    return license, video, photo, buyer


def download(delivery: Delivery, folder: Path) -> Path:
    """The package's files, as the buyer downloads them."""
    for path in delivery.files:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(get_store().get_bytes(f"{delivery.blob_key}/{path}"))
    return folder


def build_package(make_user, tmp_path: Path):
    """(delivery, folder, video clip, photo clip, buyer) of a built version 1."""
    license, video, photo, buyer = licensed_clips(make_user, tmp_path)
    create_checkpoint()  # as the hourly job does: the package then carries a signed head
    delivery = services.build(str(Delivery.objects.create(license=license).id))
    return delivery, download(delivery, tmp_path / "package"), video, photo, buyer


def media_of(folder: Path, row: dict) -> bytes:
    data = (folder / row["shard"]).read_bytes()
    return data[row["media_offset"] : row["media_offset"] + row["media_size"]]


def media_data_offset(data: bytes) -> int:
    """An offset in the middle of a file's coded pictures: the payload of an MP4/MOV's
    top-level `mdat` box, or a JPEG's entropy-coded scan (after its last SOS marker, which
    byte stuffing keeps out of scan data)."""
    if data[:2] == b"\xff\xd8":
        sos = data.rindex(b"\xff\xda")
        return (sos + len(data)) // 2
    mdat = next(box for box in boxes(data) if box.kind == b"mdat")
    return (mdat.payload + mdat.end) // 2
