"""A delivery built in process from real media, judged by outside tools: webdataset, c2pa-python,
mlcroissant, jsonschema, pyarrow."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import c2pa
import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from django.conf import settings
from django.utils import timezone
from PIL import Image

from outtake.audit.models import AuditEvent, Checkpoint
from outtake.audit.services import verify_all
from outtake.catalog.models import Asset
from outtake.core.terms import PLUS
from outtake.delivery import services
from outtake.delivery.models import Delivery
from outtake.market.models import LicenseItem
from outtake.media.authenticity import evidence
from outtake.provenance.c2pa_sign import LICENSE_LABEL, MIME, assertion, read_state
from outtake.provenance.cut import clean_jpeg, cut_video
from outtake.provenance.eu_summary import validate
from outtake.provenance.signing import verify_detached
from outtake.provenance.xmp import DMI_SEE_CONSTRAINT, find_xmp, read_rights
from outtake.rights.models import Release
from outtake.rights.releases import release_number
from outtake.storage import get_store
from tests.conftest import need_tool
from tests.delivery.packages import (
    CAMERA_PRIVATE,
    camera_signed_jpeg,
    download,
    gps_jpeg,
    licensed_clips,
    media_data_offset,
    media_of,
)
from tests.factories import ready_clip

MLCROISSANT = Path(sys.executable).parent / "mlcroissant"


def test_package_files_hashes_and_signature(package):
    delivery, folder, *_ = package
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {
        "index.parquet",
        "croissant.json",
        "eu_ai_act_summary.json",
        "eu_ai_act_summary.md",
        "license.pdf",
        "license.odrl.json",
        "DATASHEET.md",
        "audit_head.json",
        "MANIFEST.sha256",
        "MANIFEST.sha256.sig",
        "shards/shard-000000.tar",
    } <= names
    sums = (folder / "MANIFEST.sha256").read_bytes()
    listed = dict(reversed(line.split("  ", 1)) for line in sums.decode().splitlines())
    assert set(listed) == names - {"MANIFEST.sha256", "MANIFEST.sha256.sig"}
    for path, digest in listed.items():
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest
    sig = json.loads((folder / "MANIFEST.sha256.sig").read_bytes())
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    assert verify_detached(sums, sig, root) == (True, "")
    assert delivery.sha256 == hashlib.sha256(sums).hexdigest()
    assert (folder / "license.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((folder / "license.odrl.json").read_bytes())["@type"] == "Agreement"


def test_audit_chain_head_is_in_the_package_and_its_datasheet(package):
    delivery, folder, *_ = package
    head = json.loads((folder / "audit_head.json").read_bytes())
    listed = (folder / "MANIFEST.sha256").read_text()
    assert f"{hashlib.sha256((folder / 'audit_head.json').read_bytes()).hexdigest()}  " in listed
    # The head when the package was built: the events up to then, not the later "ready" one.
    ready = AuditEvent.objects.get(kind="delivery.ready", subject_id=str(delivery.id))
    before = AuditEvent.objects.filter(pk__lt=ready.pk).order_by("-pk")
    assert (head["count"], head["head"]) == (before.count(), before.first().hash)
    checkpoint = Checkpoint.objects.order_by("-count").first()
    assert head["checkpoint"]["head"] == checkpoint.head
    assert head["checkpoint"]["statement"] == checkpoint.statement
    assert verify_all([head["checkpoint"], head])[0]
    sheet = (folder / "DATASHEET.md").read_text()
    assert f"`{head['head']}`" in sheet and f"event {checkpoint.count}" in sheet


def test_shards_load_with_webdataset_and_carry_labels_and_provenance(package):
    _, folder, video, photo, _ = package
    shards = sorted(str(p) for p in (folder / "shards").glob("*.tar"))
    samples = {s["__key__"]: s for s in wds.WebDataset(shards, shardshuffle=False)}
    assert set(samples) == {str(video.id), str(photo.id)}
    v = json.loads(samples[str(video.id)]["json"])
    assert v["provenance"]["cut"]["clip_start_s"] == 1.0
    assert v["provenance"]["cut"]["file_start_s"] <= 1.0 <= v["provenance"]["cut"]["file_end_s"]
    assert v["provenance"]["cut"]["trim_start_s"] == pytest.approx(
        1.0 - v["provenance"]["cut"]["file_start_s"]
    )
    assert (
        v["provenance"]["delivered_sha256"]
        == hashlib.sha256(samples[str(video.id)]["mp4"]).hexdigest()
    )
    assert v["provenance"]["original_sha256"] == video.asset.sha256
    assert v["provenance"]["pdq"] == video.pdq
    assert v["provenance"]["creator"].startswith("creator-")
    assert (
        v["provenance"]["terms_snapshot"]["terms"]["uses"]["ai_inference"]["state"] == "constrained"
    )
    text = json.dumps(v)
    assert "SN123" not in text and "camera_serial" not in text and "x.mp4" not in text
    assert v["labels"]["technical"]["gps"] == {"lat": 48.86, "lon": 2.29, "alt": None}
    # The analysis's tags and the creator's own stay apart, so a buyer knows which is which.
    assert (v["labels"]["tags"], v["labels"]["creator_tags"]) == (
        ["aerial", "static_camera"],
        ["beach"],
    )
    # Stream copy: the same codec, and the clip's frames are there.
    with av.open(io.BytesIO(samples[str(video.id)]["mp4"])) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert not {
            k
            for k in c.metadata
            if k not in ("major_brand", "minor_version", "compatible_brands", "encoder")
        }
        assert float(c.duration / av.time_base) == pytest.approx(
            v["provenance"]["cut"]["file_end_s"] - v["provenance"]["cut"]["file_start_s"], abs=0.1
        )
    # The index lists every sample where it is, with the same hashes.
    index = pq.read_table(folder / "index.parquet").to_pylist()
    assert {r["key"] for r in index} == set(samples)
    for row in index:
        assert hashlib.sha256(media_of(folder, row)).hexdigest() == row["media_sha256"]


def test_photo_loses_private_metadata_but_not_pixels(package, tmp_path):
    _, folder, *_ = package
    (row,) = [
        r for r in pq.read_table(folder / "index.parquet").to_pylist() if r["kind"] == "image"
    ]
    data = media_of(folder, row)
    original = gps_jpeg(tmp_path).read_bytes()
    assert b"SN-SECRET-42" not in data and b"SecretCam" not in data and b"my home" not in data
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert exif.get(0x0112) == 6 and not exif.get_ifd(0x8825)
    # The entropy-coded pixels are byte-identical (signature bytes may contain any marker, so
    # compare from the end, where the scan data is).
    assert data.endswith(original[original.index(b"\xff\xda") :])


def test_c2pa_trusted_with_license_assertions_and_xmp(package):
    delivery, folder, *_ = package
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    odrl = hashlib.sha256((folder / "license.odrl.json").read_bytes()).hexdigest()
    for row in pq.read_table(folder / "index.parquet").to_pylist():
        data = media_of(folder, row)
        mime = MIME["." + row["media"].rsplit(".", 1)[1]]
        state, manifest, failures = read_state(data, mime, root)
        assert (state, failures) == ("Trusted", []), row["media"]
        actions = [a["action"] for a in assertion(manifest, "c2pa.actions.v2")["actions"]]
        assert actions[0] == "c2pa.opened" and actions[1].startswith("c2pa.edited")
        entries = assertion(manifest, "cawg.training-mining")["entries"]
        assert entries["cawg.ai_training"] == {"use": "allowed"}
        assert entries["cawg.ai_inference"] == {"use": "constrained", "constraint_info": "no faces"}
        assert entries["cawg.data_mining"] == {"use": "notAllowed"}
        lic = assertion(manifest, LICENSE_LABEL)
        assert lic["license"] == str(delivery.license_id) and lic["odrl_policy_sha256"] == odrl
        assert lic["clip"] == row["clip_id"]
        xmp = read_rights(find_xmp(data))
        # data mining is not licensed: the PLUS value says so.
        assert xmp["DataMining"].endswith("DMI-PROHIBITED")
        assert xmp["LicensorName"] == "Outtake" and str(delivery.license_id) in xmp["UsageTerms"]
        # Changing a byte of the coded pictures themselves (mid-mdat, mid-scan) breaks it.
        tampered = bytearray(data)
        tampered[media_data_offset(data)] ^= 0xFF
        state, _, failures = read_state(bytes(tampered), mime, root)
        assert state == "Invalid" and failures[0].endswith("Hash.mismatch"), failures
        # Without Outtake's root as anchor, intact but not trusted.
        assert read_state(data, mime, None)[0] == "Valid"
    assert DMI_SEE_CONSTRAINT.endswith("SEECONSTRAINT")


def _camera_signed_photo(make_user, tmp_path: Path, *, opted_in: bool) -> tuple[Asset, bytes]:
    """(asset, delivered file) of a photo whose original a camera signed with C2PA, its
    manifest read at ingest as analysis does; its creator's terms opt in to carrying it or not."""
    license, _, photo, _ = licensed_clips(make_user, tmp_path)
    signed = camera_signed_jpeg(tmp_path)
    assert all(private in signed for private in (*CAMERA_PRIVATE, b"DSC_0042", b"Camera Maker"))
    asset = photo.asset
    get_store().put_bytes(asset.blob_key, signed)
    asset.sha256 = hashlib.sha256(signed).hexdigest()
    (tmp_path / "upload.jpg").write_bytes(signed)
    asset.authenticity = evidence(tmp_path / "upload.jpg", {"kind": "image", "mime": "image/jpeg"})
    asset.save()
    item = license.items.get(clip=photo)
    item.terms_snapshot["terms"]["original_c2pa_manifest"] = opted_in
    item.save()
    delivery = services.build(str(Delivery.objects.create(license=license).id))
    folder = download(delivery, tmp_path / "package")
    (row,) = [
        r for r in pq.read_table(folder / "index.parquet").to_pylist() if r["kind"] == "image"
    ]
    return asset, media_of(folder, row)


def test_by_default_an_originals_own_manifest_is_not_delivered(db, make_user, tmp_path):
    asset, data = _camera_signed_photo(make_user, tmp_path, opted_in=False)
    # Neither its redactable assertions nor what C2PA cannot redact: the camera's claim title,
    # its firmware's name, the camera maker's certificate (subject "Camera Maker c2pa").
    for private in (*CAMERA_PRIVATE, b"DSC_0042", b"Camera Maker", b"holiday-at-home"):
        assert private not in data, private
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    state, manifest, failures = read_state(data, MIME[".jpg"], root)
    assert (state, failures) == ("Trusted", [])
    (parent,) = manifest["ingredients"]
    assert parent == {
        "title": f"asset {asset.id}",
        "format": "image/jpeg",
        "instance_id": f"sha256:{asset.sha256}",
        "relationship": "parentOf",
        "label": "c2pa.ingredient.v3",
    }
    assert "redactions" not in manifest
    # The buyer learns that the original had a manifest and how it read at ingest, not whose.
    assert assertion(manifest, LICENSE_LABEL)["original"] == {
        "sha256": asset.sha256,
        "c2pa_manifest": {"validation_state": "Valid", "carried": False},
    }


def test_opted_in_an_originals_own_manifest_is_the_parent_without_its_private_assertions(
    db, make_user, tmp_path
):
    asset, data = _camera_signed_photo(make_user, tmp_path, opted_in=True)
    for private in (*CAMERA_PRIVATE, b"holiday-at-home"):
        assert private not in data, private
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    state, manifest, failures = read_state(data, MIME[".jpg"], root)
    assert (state, failures) == ("Trusted", [])
    (parent,) = manifest["ingredients"]
    assert parent["relationship"] == "parentOf" and parent["title"] == f"asset {asset.id}"
    assert assertion(manifest, LICENSE_LABEL)["original"]["c2pa_manifest"] == {
        "validation_state": "Valid",
        "carried": True,
    }
    # The camera's manifest is carried, signed by the camera maker, keeping only the actions.
    with c2pa.Reader("image/jpeg", io.BytesIO(data)) as reader:
        camera = json.loads(reader.json())["manifests"][parent["active_manifest"]]
    assert camera["signature_info"]["issuer"] == "Camera Maker"
    assert camera["title"] == "DSC_0042.JPG"  # signed: C2PA cannot redact it
    assert [a["label"] for a in camera["assertions"]] == ["c2pa.actions.v2"]
    assert "thumbnail" not in camera
    assert any(r.endswith("/stds.exif") for r in manifest["redactions"])


def _sample(folder: Path, key: str) -> dict:
    (row,) = [r for r in pq.read_table(folder / "index.parquet").to_pylist() if r["key"] == key]
    shard = (folder / row["shard"]).read_bytes()
    return json.loads(shard[row["json_offset"] : row["json_offset"] + row["json_size"]])


def test_exiftool_reads_the_rights_xmp_of_delivered_jpeg_png_and_mp4(db, make_user, tmp_path):
    """Debian's exiftool (12.57) is too old to write plus:DataMining but reads it by name."""
    exiftool = need_tool("exiftool", "XMP read back by an outside tool")
    license, video, _, _ = licensed_clips(make_user, tmp_path)
    png = ready_clip(video.asset.uploaded_by, kind="image", duration_s=0)
    png.asset.blob_key = f"originals/{png.asset.id}.png"
    png.asset.save()
    pixels = np.random.default_rng(2).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf := io.BytesIO(), "PNG")
    get_store().put_bytes(png.asset.blob_key, buf.getvalue())
    LicenseItem.objects.create(
        license=license,
        clip=png,
        creator=png.asset.owner,
        price_minor=40,
        price_lines=[],
        terms_snapshot=license.items.first().terms_snapshot,
    )
    delivery = services.build(str(Delivery.objects.create(license=license).id))
    folder = download(delivery, tmp_path / "package")
    rows = pq.read_table(folder / "index.parquet").to_pylist()
    assert sorted(r["media"].rsplit(".", 1)[1] for r in rows) == ["jpg", "mp4", "png"]
    for row in rows:
        path = tmp_path / row["media"]
        path.write_bytes(media_of(folder, row))
        out = subprocess.run(
            [exiftool, "-json", "-n", "-G1", "-XMP:all", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        (read,) = json.loads(out.stdout)
        ours = read_rights(find_xmp(path.read_bytes()))
        # Data mining is not licensed: the PLUS vocabulary's "prohibited" URI.
        assert read["XMP-plus:DataMining"] == PLUS + "DMI-PROHIBITED", row["media"]
        assert read["XMP-plus:LicensorName"] == "Outtake"
        assert read["XMP-xmpRights:UsageTerms"] == ours["UsageTerms"]
        assert f"license {license.id}" in read["XMP-xmpRights:UsageTerms"]
        assert read["XMP-xmpRights:WebStatement"] == (
            f"{settings.OUTTAKE_PUBLIC_URL}/licenses/{license.id}/"
        )
        # No identifiable people in these clips: a model release is not applicable.
        assert read["XMP-plus:ModelReleaseStatus"] == ours["ModelReleaseStatus"] == "MR-NAP"
        assert read["XMP-dc:Creator"] == row["creator"]


def test_croissant_validates_and_loads_with_hash_checks(package, monkeypatch):
    import mlcroissant as mlc

    _, folder, video, photo, _ = package
    croissant = folder / "croissant.json"
    ok = subprocess.run(
        [str(MLCROISSANT), "validate", "--jsonld", str(croissant)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    load = [str(MLCROISSANT), "load", "--jsonld", str(croissant), "--record_set", "samples"]
    loaded = subprocess.run(load, capture_output=True, text=True, cwd=folder)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    # The record set carries every label and the provenance, read from the index.
    monkeypatch.chdir(folder)
    records = {
        r["samples/key"].decode(): r for r in mlc.Dataset(jsonld=str(croissant)).records("samples")
    }
    v, p = records[str(video.id)], records[str(photo.id)]
    sample = _sample(folder, str(video.id))
    labels, provenance = sample["labels"], sample["provenance"]
    assert [t.decode() for t in v["samples/tags"]] == ["aerial", "static_camera"]
    assert [t.decode() for t in v["samples/creator_tags"]] == ["beach"]
    assert [t.decode() for t in p["samples/tags"]] == ["night"]
    for name in ("technical", "shot", "quality", "problems"):
        assert json.loads(v[f"samples/{name}"]) == labels[name], name
    assert v["samples/release_status"].decode() == labels["people"]["release_status"]
    for name in ("pdq", "terms_snapshot", "granted_uses", "cut"):
        assert json.loads(v[f"samples/{name}"]) == provenance[name], name
    assert v["samples/terms_id"].decode() == provenance["terms_id"]
    assert v["samples/media_sha256"].decode() == provenance["delivered_sha256"]
    assert v["samples/original_sha256"].decode() == video.asset.sha256
    assert v["samples/creator"].decode() == provenance["creator"]
    assert v["samples/release_ids"] == [] and p["samples/cut"] is None  # a photo is not cut
    # A lab's edit that leaves the Parquet file readable: mlcroissant's hash check refuses it.
    table = pq.read_table(folder / "index.parquet")
    keys = [f"edited-{k}" for k in table["key"].to_pylist()]
    pq.write_table(table.set_column(0, "key", [keys]), folder / "index.parquet")
    assert pq.read_table(folder / "index.parquet")["key"].to_pylist() == keys
    broken = subprocess.run(load, capture_output=True, text=True, cwd=folder)
    assert broken.returncode != 0
    assert "is not identical with the reference in the Croissant JSON-LD" in broken.stderr


def test_eu_summary_matches_its_schema(package):
    _, folder, *_ = package
    data = json.loads((folder / "eu_ai_act_summary.json").read_bytes())
    validate(data)
    assert data["1.3"]["modalities"]["video"]["items"] == 1
    assert data["1.3"]["modalities"]["image"]["items"] == 1
    assert data["2.2.1"]["commercially_licensed"] is True
    data["1.3"]["acquisition_period"]["earliest"] = "2025-07"
    with pytest.raises(Exception, match="does not match"):
        validate(data)


def test_eu_summary_content_types_and_acquisition_period_of_the_delivered_items(
    db, make_user, tmp_path
):
    license, video, photo, _ = licensed_clips(make_user, tmp_path)
    video.asset.probe["creation_time"] = "2021-04-02T10:00:00+02:00"  # captured
    video.asset.save()
    # A camera clock never set (1970): its upload date stands in.
    photo.asset.probe["creation_time"] = "1970-01-01T00:00:00.000000Z"
    photo.asset.save()
    Asset.objects.filter(pk=photo.asset_id).update(
        created_at=datetime(2024, 11, 15, 12, tzinfo=UTC)
    )

    def documents(delivery):
        delivery = services.build(str(delivery.id))
        store = get_store()
        summary = json.loads(store.get_bytes(f"{delivery.blob_key}/eu_ai_act_summary.json"))
        croissant = json.loads(store.get_bytes(f"{delivery.blob_key}/croissant.json"))
        validate(summary)
        return summary["1.3"], croissant["rai:dataCollectionTimeFrame"]

    v1 = Delivery.objects.create(license=license)
    part, timeframe = documents(v1)
    assert part["modalities"]["video"]["content_types"] == [
        "unpublished camera footage",
        "aerial",
        "beach",
        "static camera",
    ]
    assert part["modalities"]["image"]["content_types"] == ["unpublished photographs", "night"]
    assert (part["acquisition_period"]["earliest"], part["acquisition_period"]["latest"]) == (
        "04/2021",
        "11/2024",
    )
    assert timeframe == ["2021-04-02", "2024-11-15"]
    # The next version without the video: its tags and capture date leave the summary.
    part, timeframe = documents(services.build_next_version(license, [str(video.id)]))
    assert set(part["modalities"]) == {"image"}
    assert (part["acquisition_period"]["earliest"], part["acquisition_period"]["latest"]) == (
        "11/2024",
        "11/2024",
    )
    assert timeframe == ["2024-11-15", "2024-11-15"]


@pytest.mark.parametrize(
    ("creation_time", "acquired"),
    [
        ("2021-04-02T23:30:00-08:00", "2021-04-02"),  # captured, in its own zone's date
        ("2021-04-02T10:00:00", "2021-04-02"),  # no zone: UTC
        ("2024-11-15T11:59:00Z", "2024-11-15"),  # a minute before the upload
        ("2024-11-15T12:01:00Z", "2024-11-15"),  # after the upload: the upload's date
        ("2031-06-01T00:00:00Z", "2024-11-15"),
        ("1989-12-31T23:59:59Z", "2024-11-15"),  # before 1990: a clock never set
        ("1904-01-01T00:00:00Z", "2024-11-15"),
        ("not a date", "2024-11-15"),
        (None, "2024-11-15"),
    ],
)
def test_a_capture_date_counts_only_between_1990_and_the_upload(creation_time, acquired):
    asset = Asset(
        probe={} if creation_time is None else {"creation_time": creation_time},
        created_at=datetime(2024, 11, 15, 12, tzinfo=UTC),
    )
    assert services._acquired(asset).isoformat() == acquired


def test_next_version_lists_removals_and_records_the_acknowledgement(package):
    delivery, _, video, _, buyer = package
    v2 = services.build_next_version(delivery.license, [str(video.id)])
    v2 = services.build(str(v2.id))
    assert v2.version == 2 and v2.removed_clip_ids == [str(video.id)]
    removals = json.loads(get_store().get_bytes(f"{v2.blob_key}/removals.json"))
    assert removals["delete_sample_ids"] == [str(video.id)]
    assert v2.manifest["samples"] == 1
    acknowledged = services.acknowledge_removals(buyer, v2)
    assert acknowledged.removals_acknowledged_at is not None
    assert acknowledged.removals_acknowledged_by == buyer


def test_cut_keeps_10_bit_hevc_by_stream_copy(tmp_path):
    src = tmp_path / "hevc10.mp4"
    with av.open(str(src), "w") as out:
        stream = out.add_stream(
            "libx265", rate=25, options={"x265-params": "keyint=25:log-level=none"}
        )
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p10le"
        for i in range(100):
            frame = av.VideoFrame.from_ndarray(
                np.full((96, 128, 3), i * 2, dtype=np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame.reformat(format="yuv420p10le")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    dest = io.BytesIO()
    cut = cut_video(str(src), 1.5, 3.0, dest, ".mp4")
    assert cut.file_start_s == 1.0 and cut.trim_start_s == pytest.approx(0.5)
    dest.seek(0)
    with av.open(dest) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "hevc" and s.codec_context.pix_fmt == "yuv420p10le"
        frames = sum(1 for _ in c.decode(s))
    assert frames == pytest.approx((3.0 - 1.0) * 25, abs=2)
    assert Fraction(cut.clip_duration_s).limit_denominator(10) == Fraction(3, 2)


def test_clean_jpeg_rejects_other_files():
    with pytest.raises(ValueError):
        clean_jpeg(b"GIF89a")


def test_release_ids_and_opted_in_location_in_the_sample_never_the_token(db, make_user, tmp_path):
    license, video, _, _ = licensed_clips(make_user, tmp_path)
    # This creator also opted in to precise location: the labels keep the exact GPS.
    item = license.items.get(clip=video)
    item.terms_snapshot["terms"]["precise_location"] = True
    item.save()
    owner = video.asset.owner.members.first()
    release = Release.objects.create(
        asset=video.asset,
        person="woman in the red coat",
        method=Release.Method.SIGNED,
        token="the-signing-link-token",
        signed_at=timezone.now(),
        created_by=owner,
    )
    Release.objects.create(  # revoked: not a release the package may name
        asset=video.asset,
        person="man with a dog",
        method=Release.Method.SIGNED,
        token="another-token",
        signed_at=timezone.now(),
        revoked_at=timezone.now(),
        created_by=owner,
    )
    delivery = services.build(str(Delivery.objects.create(license=license).id))
    folder = download(delivery, tmp_path / "package")
    (row,) = [
        r for r in pq.read_table(folder / "index.parquet").to_pylist() if r["kind"] == "video"
    ]
    shard = (folder / row["shard"]).read_bytes()
    sample = json.loads(shard[row["json_offset"] : row["json_offset"] + row["json_size"]])
    expected = [release_number(release)]
    assert sample["provenance"]["release_ids"] == expected
    assert sample["labels"]["people"]["release_ids"] == expected
    assert sample["labels"]["technical"]["gps"] == video.asset.probe["gps"]
    data = media_of(folder, row)
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    state, manifest, _ = read_state(data, MIME[".mp4"], root)
    assert state == "Trusted" and assertion(manifest, LICENSE_LABEL)["release_ids"] == expected
    xmp = read_rights(find_xmp(data))
    assert xmp["ModelReleaseID"] == expected
    assert b"the-signing-link-token" not in shard and b"another-token" not in shard
