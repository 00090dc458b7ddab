"""Vendor metadata: HEVC 10-bit HDR analyses normally; sidecars are never footage."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.tags import is_aerial
from outtake.media.analysis.vendor import (
    is_sidecar,
    sidecar_facts,
    srt_altitudes,
    vendor_metadata,
)

from .conftest import RATE, SIZE, canvas, grain, pan, write_clip

DJI_SRT = """1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
[iso: 100] [latitude: 46.2044] [longitude: 6.1432] [rel_alt: 85.300 abs_alt: 460.1]</font>

2
00:00:00,033 --> 00:00:00,066
<font size="28">FrameCnt: 2 [rel_alt: 86.100 abs_alt: 460.9]</font>
"""


def _hevc_pq(path) -> None:
    rng = np.random.default_rng(0)
    scene = canvas(9)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p10le"
        stream.options = {
            "preset": "ultrafast",
            "x265-params": "log-level=error:keyint=25:bframes=3:colorprim=bt2020:"
            "transfer=smpte2084:colormatrix=bt2020nc",
        }
        for i in range(2 * RATE):
            frame = av.VideoFrame.from_ndarray(grain(pan(scene, i), rng), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, RATE)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_hevc_10bit_hdr_analyses_normally_with_its_metadata(tmp_path):
    video = tmp_path / "DJI_0001.MP4"
    _hevc_pq(video)
    (tmp_path / "DJI_0001.SRT").write_text(DJI_SRT)
    result = analyse(video, min_shot_s=10)
    vendor = result["probe"]["vendor"]
    assert vendor["transfer"] == "PQ" and vendor["hdr"] and vendor["bit_depth"] == 10
    assert vendor["relative_altitude_m"] == 86.1
    assert is_aerial(result["probe"])
    (shot,) = result["shots"]
    assert shot["end_frame"] == 2 * RATE
    assert not [p for p in shot["problems"] if p["code"] in ("black", "low_light", "blur")]
    assert "HDR" in shot["tags"] or "hdr" in shot["tags"]


def test_sidecars_are_never_footage(tmp_path):
    for name in ("DJI_0001.LRF", "DJI_0001.THM", "DJI_0001.SRT", "C0001M01.XML", "GL010001.LRV"):
        assert is_sidecar(tmp_path / name)
    assert not is_sidecar(tmp_path / "DJI_0001.MP4")
    srt = tmp_path / "DJI_0002.SRT"
    srt.write_text(DJI_SRT)
    assert srt_altitudes(srt) == [85.3, 86.1]


SONY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.20">
  <Device manufacturer="Sony" modelName="ILCE-7SM3" serialNo="4294967295"/>
  <AcquisitionRecord>
    <Group name="CameraUnitMetadataSet">
      <Item name="CaptureGammaEquation" value="s-log3-cine"/>
      <Item name="CaptureColorPrimaries" value="s-gamut3-cine"/>
    </Group>
  </AcquisitionRecord>
</NonRealTimeMeta>
"""


def _short(path, **metadata):
    rng = np.random.default_rng(1)
    scene = canvas(3)
    write_clip(path, (grain(pan(scene, i), rng) for i in range(10)))
    if metadata:  # tags written by the camera's firmware, as a remux keeps them
        tagged = path.with_name("tagged-" + path.name)
        with av.open(str(path)) as source, av.open(str(tagged), "w") as target:
            target.metadata.update(metadata)
            stream = target.add_stream_from_template(source.streams.video[0])
            for packet in source.demux(source.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    target.mux(packet)
        tagged.replace(path)
    return path


def test_log_profiles_come_from_the_cameras_tags_or_a_sony_clip_description(tmp_path):
    plain = _short(tmp_path / "C0001.MP4")
    assert vendor_metadata(plain)["log_profile"] is None
    (tmp_path / "C0001M01.XML").write_text(SONY_XML)  # what a Sony camera writes beside it
    assert sidecar_facts(plain) == {"capture_gamma": "s-log3-cine", "log_profile": "S-Log3"}
    assert vendor_metadata(plain)["log_profile"] == "S-Log3"
    # An upload has no sidecar beside it: its facts come with it.
    alone = _short(tmp_path / "upload.mp4")
    sent = vendor_metadata(alone, {"log_profile": "S-Log3", "relative_altitude_m": 40.0})
    assert sent["log_profile"] == "S-Log3"
    assert sent["client_facts"] == ["log_profile", "relative_altitude_m"]  # not the video's word
    assert vendor_metadata(plain)["client_facts"] == ["capture_gamma", "log_profile"]
    dlog = _short(tmp_path / "DJI_0002.MP4", comment="Color profile: D-Log")
    assert vendor_metadata(dlog)["log_profile"] == "D-Log"
    own = vendor_metadata(dlog, {"log_profile": "S-Log3"})
    assert own["log_profile"] == "D-Log" and own["client_facts"] == []
    (tmp_path / "broken.mp4").write_bytes(plain.read_bytes())
    (tmp_path / "broken.XML").write_text("<NonRealTimeMeta><unclosed>")
    assert sidecar_facts(tmp_path / "broken.mp4") == {}
