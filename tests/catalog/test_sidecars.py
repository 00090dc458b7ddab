"""Camera sidecars on the server: refused as footage by name, while what they say about their
video (sent by `outtake upload` as the upload's "sidecar" metadata) reaches the analysis; and
aerial footage by GPS altitude, by setting."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from outtake.audit.models import AuditEvent
from outtake.catalog.models import Asset
from outtake.catalog.upload_endpoint import _register
from outtake.uploads.tus import Upload

pytestmark = pytest.mark.django_db(transaction=True)


def tiny_video(path: Path, location: str | None = None, seed: int = 0) -> Path:
    """Two seconds of moving noise, optionally with a QuickTime location (ISO 6709)."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w", format="mp4") as container:
        if location:
            container.metadata["location"] = location
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(20):
            picture = rng.integers(60, 200, (240, 320, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def complete(user, path: Path, name: str, **metadata: str) -> Asset:
    """What the tus endpoint does when an upload's last byte arrives (jobs run inline)."""
    upload = Upload(
        id=f"{time.monotonic_ns():032x}"[-32:],
        length=path.stat().st_size,
        offset=path.stat().st_size,
        metadata={"filename": name, **metadata},
        owner=str(user.pk),
        created_at=time.time(),
        data_path=path,
        complete=False,
    )
    _register(upload)
    return Asset.objects.get(upload_id=upload.id)


def test_a_sidecar_is_refused_by_name_and_not_kept(make_user, tmp_path):
    creator = make_user("creator")
    proxy = tiny_video(tmp_path / "partial.bin")  # a DJI .LRF proxy is a playable MP4
    asset = complete(creator, proxy, "DJI_0001.LRF")
    assert asset.status == "rejected" and "camera sidecar" in asset.status_reason
    assert "DJI_0001.LRF" in asset.status_reason and not asset.clips.exists()
    assert not proxy.exists() and asset.blob_key == ""


def test_sidecar_facts_sent_with_a_video_tag_it_aerial_and_log(make_user, tmp_path):
    creator = make_user("creator")
    facts = {"relative_altitude_m": 86.1, "capture_gamma": "s-log3-cine", "log_profile": "S-Log3"}
    asset = complete(
        creator, tiny_video(tmp_path / "a.bin"), "C0001.MP4", sidecar=json.dumps(facts)
    )
    assert asset.status == "ready", asset.status_reason
    vendor = asset.probe["vendor"]
    assert vendor["relative_altitude_m"] == 86.1 and vendor["log_profile"] == "S-Log3"
    assert vendor["capture_gamma"] == "s-log3-cine"
    assert {"aerial", "log"} <= set(asset.clips.get().tags)
    # Marked as the client's word, which a package shows beside the tags.
    assert vendor["client_facts"] == ["capture_gamma", "log_profile", "relative_altitude_m"]
    assert asset.probe["client_tags"] == ["aerial", "log"]
    assert (
        "camera log profile sent by the uploader, from a sidecar: S-Log3"
        in (asset.authenticity["signs"])
    )


def test_bad_sidecar_facts_cost_the_facts_not_the_footage(make_user, tmp_path, monkeypatch):
    monkeypatch.setattr("outtake.catalog.tasks.ingest_asset", lambda asset_id: None)
    creator = make_user("creator")
    bad = json.dumps({"relative_altitude_m": "very high"})
    asset = complete(creator, tiny_video(tmp_path / "a.bin"), "a.mp4", sidecar=bad)
    assert asset.status == "processing" and asset.sidecar_facts == {}
    uploaded = AuditEvent.objects.get(kind="asset.uploaded", subject_id=str(asset.id))
    assert uploaded.data["sidecar_refused"] == "relative_altitude_m must be a number"
    unknown = complete(creator, tiny_video(tmp_path / "b.bin", seed=1), "b.mp4", sidecar='{"x": 1}')
    assert unknown.sidecar_facts == {} and unknown.status == "processing"


def test_the_gps_altitude_setting_reaches_the_analysis(make_user, tmp_path, settings):
    settings.OUTTAKE_AERIAL_GPS_ALTITUDE_M = 2000.0  # off by default (tests/media_analysis)
    high = tiny_video(tmp_path / "a.bin", "+46.2044+006.1432+2500.000/")
    asset = complete(make_user("creator"), high, "a.mp4")
    assert asset.probe["gps"]["alt"] == 2500.0 and "aerial" in asset.clips.get().tags
