"""Vendor metadata: HEVC 10-bit HDR analyses normally; sidecars are never footage."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.tags import is_aerial
from outtake.media.analysis.vendor import is_sidecar, srt_altitudes

from .conftest import RATE, SIZE, canvas, grain, pan

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
    for name in ("DJI_0001.LRF", "DJI_0001.THM", "DJI_0001.SRT", "C0001M01.XML"):
        assert is_sidecar(tmp_path / name)
    assert not is_sidecar(tmp_path / "DJI_0001.MP4")
    srt = tmp_path / "DJI_0002.SRT"
    srt.write_text(DJI_SRT)
    assert srt_altitudes(srt) == [85.3, 86.1]
