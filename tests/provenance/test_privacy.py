"""Delivered files carry no camera serial, no original file name and no precise place, per
format: MP4 and MOV (udta ©xyz, mdta keys, handler names), JPEG, PNG, WebP, and formats turned
into PNG. Pixels and compressed media stay as they were."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from outtake.core.privacy import public_metadata
from outtake.media.metadata import exif_tags
from outtake.provenance.c2pa_sign import Signer, manifest_definition, read_state
from outtake.provenance.cut import clean_jpeg, clean_png, clean_webp, cut_video, to_png
from outtake.provenance.xmp import find_xmp, read_rights
from tests.delivery.packages import gps_jpeg

SECRETS = (b"SN-SECRET-42", b"SecretCam", b"48.8584", b"GOPR0042", b"my home")
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>creator-1</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>'  # noqa: E501


def _camera_video(path: Path, fmt: str, mdta: bool) -> Path:
    """A clip tagged like a phone or action camera: place, make, serial, its file name."""
    options = {"movflags": "use_metadata_tags"} if mdta else {}
    with av.open(str(path), "w", format=fmt, options=options) as c:
        c.metadata.update(
            {
                "location": "+48.8584+002.2945/",  # ©xyz in udta
                "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
                "com.apple.quicktime.make": "SecretCam",
                "serial_number": "SN-SECRET-42",
                "title": "GOPR0042.MP4",
                "comment": "my home",
            }
        )
        s = c.add_stream("libx264", rate=25, options={"x264-params": "keyint=25:log-level=none"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.metadata["handler_name"] = "GoPro AVC SN-SECRET-42"
        for i in range(75):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 3, np.uint8), "rgb24")
            for packet in s.encode(frame.reformat(format="yuv420p")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    data = path.read_bytes()
    # The test input really has them (a plain MOV keeps only its udta keys: place and title).
    expected = SECRETS if mdta else (b"48.8584", b"GOPR0042", b"SN-SECRET-42")
    assert [s for s in expected if s in data] == list(expected)
    return path


@pytest.mark.parametrize(("ext", "fmt", "mdta"), [(".mp4", "mp4", True), (".mov", "mov", False)])
def test_cut_video_drops_container_and_stream_tags(tmp_path, ext, fmt, mdta):
    src = _camera_video(tmp_path / f"GOPR0042{ext}", fmt, mdta)
    out = io.BytesIO()
    cut_video(str(src), 1.0, 2.5, out, ext)
    data = out.getvalue()
    assert not [s for s in SECRETS if s in data]
    with av.open(io.BytesIO(data)) as c:
        assert not {k for k in c.metadata if k not in ("major_brand", "minor_version")} - {
            "compatible_brands",
            "encoder",
        }
        assert [s.type for s in c.streams] == ["video"]
        # Only what the muxer itself writes: a language, its default handler and vendor.
        tags = dict(c.streams[0].metadata)
        assert tags.pop("handler_name") == "VideoHandler"
        assert tags.pop("vendor_id", "FFMP") == "FFMP"
        assert set(tags) <= {"language"}
        # The same compressed frames: stream copy, nothing re-encoded.
        assert c.streams.video[0].codec_context.name == "h264"


def test_jpeg_png_webp_lose_exif_xmp_and_text_but_keep_pixels(tmp_path):
    jpeg = gps_jpeg(tmp_path).read_bytes()
    assert exif_tags(Image.open(io.BytesIO(jpeg)))["gps"]["lat"] == pytest.approx(48.858, abs=1e-3)
    with Image.open(io.BytesIO(jpeg)) as image:
        pixels, exif = np.asarray(image.convert("RGB")), image.getexif()
    for fmt, clean in (("PNG", clean_png), ("WEBP", clean_webp)):
        out = io.BytesIO()
        kw = {"lossless": True} if fmt == "WEBP" else {}
        Image.fromarray(pixels).save(
            out, format=fmt, exif=exif.tobytes(), xmp=b"<x:xmpmeta>SN-SECRET-42</x:xmpmeta>", **kw
        )
        original = out.getvalue()
        assert b"SN-SECRET-42" in original
        cleaned = clean(original, XMP)
        assert not [s for s in SECRETS if s in cleaned], fmt
        with Image.open(io.BytesIO(cleaned)) as image:
            assert not image.getexif().get_ifd(0x8825) and 0xA431 not in image.getexif()
            assert np.array_equal(np.asarray(image.convert("RGB")), pixels), fmt
        assert read_rights(find_xmp(cleaned))["creator"] == "creator-1"
    cleaned = clean_jpeg(jpeg, XMP)
    assert not [s for s in SECRETS if s in cleaned]


def test_simple_webp_gets_an_extended_header_for_its_xmp(tmp_path):
    out = io.BytesIO()
    Image.new("RGBA", (33, 17), (10, 20, 30, 128)).save(out, format="WEBP", lossless=True)
    assert out.getvalue()[12:16] == b"VP8L"  # simple format: no VP8X
    cleaned = clean_webp(out.getvalue(), XMP)
    assert cleaned[12:16] == b"VP8X" and cleaned[20] & 0x04 and cleaned[20] & 0x10
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (33, 17) and image.getpixel((3, 3)) == (10, 20, 30, 128)
    assert read_rights(find_xmp(cleaned))["creator"] == "creator-1"
    with pytest.raises(ValueError, match="not a WebP"):
        clean_webp(b"RIFF\x00\x00\x00\x00AVI ", XMP)


def test_cleaned_webp_is_signed_and_trusted(pki):
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(out, format="WEBP", quality=80)
    cleaned = clean_webp(out.getvalue(), XMP)
    manifest = manifest_definition(
        title="sample.webp",
        edits=[{"action": "c2pa.edited.metadata"}],
        states={
            code: {"state": "allowed", "constraint": ""}
            for code in ("ai_training", "ai_generative_training", "data_mining", "ai_inference")
        }
        | {"fine_tuning": {"state": "allowed", "constraint": ""}}
        | {"evaluation_only": {"state": "allowed", "constraint": ""}},
        license_assertion={"license": "l"},
    )
    dest = io.BytesIO()
    Signer(pki).sign(
        manifest,
        "image/webp",
        io.BytesIO(cleaned),
        dest,
        original=io.BytesIO(out.getvalue()),
        original_mime="image/webp",
        original_title="asset 1",
    )
    state, _, failures = read_state(dest.getvalue(), "image/webp", (pki / "root.pem").read_bytes())
    assert (state, failures) == ("Trusted", [])
    assert read_rights(find_xmp(dest.getvalue()))["creator"] == "creator-1"


def test_other_still_formats_become_lossless_png_without_metadata():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x0112] = 6  # rotated: delivered upright
    tiff = io.BytesIO()
    Image.fromarray(pixels).save(tiff, format="TIFF", exif=exif.tobytes())
    assert b"SecretCam" in tiff.getvalue()
    png = to_png(tiff.getvalue(), XMP)
    assert png.startswith(b"\x89PNG") and b"SecretCam" not in png
    with Image.open(io.BytesIO(png)) as image:
        assert np.array_equal(np.asarray(image), np.rot90(pixels, k=-1))
    assert read_rights(find_xmp(png))["creator"] == "creator-1"


def test_gps_in_labels_is_about_a_kilometre_unless_the_creator_opted_in():
    probe = {"gps": {"lat": 48.858412, "lon": 2.294513, "alt": 35.0}, "camera_serial": "SN"}
    coarse = public_metadata(probe)
    assert coarse == {"gps": {"lat": 48.86, "lon": 2.29, "alt": None}}
    assert public_metadata(probe, precise_location=True)["gps"] == probe["gps"]
    assert "camera_serial" not in public_metadata(probe, precise_location=True)
