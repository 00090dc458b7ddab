"""Camera formats that are normal inputs: ProRes 10-bit, variable frame rate, rotated phone
video, and HEVC 10-bit HDR (PQ, HLG) next to SDR. Each file is made here with PyAV."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.previews import SHEET_NAME
from outtake.media.analysis.vendor import vendor_metadata
from outtake.media.probe import probe

from .conftest import RATE, SIZE, X264, canvas, grain, pan, shots_video

TICKS = Fraction(1, 90000)


def _encode(
    path: Path,
    codec: str,
    pictures: Iterable[np.ndarray],
    *,
    pix_fmt: str,
    options: dict[str, str],
    pts: Iterable[int] | None = None,
    rotation: int | None = None,
) -> Path:
    """Encode RGB frames; pts (in 1/90000 s) default to a constant RATE."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=RATE)
        stream.width, stream.height = SIZE
        stream.pix_fmt = pix_fmt
        stream.options = options
        if pts is not None:
            stream.codec_context.time_base = TICKS
        if rotation is not None:
            stream.set_display_rotation(rotation)
        times = iter(pts) if pts is not None else None
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            if times is None:
                frame.pts, frame.time_base = i, Fraction(1, RATE)
            else:
                frame.pts, frame.time_base = next(times), TICKS
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _panning(frames: int, seed: int = 3) -> Iterable[np.ndarray]:
    rng = np.random.default_rng(seed)
    scene = canvas(seed)
    return (grain(pan(scene, i), rng) for i in range(frames))


def _h264(path: Path) -> Path:
    options = {"preset": "ultrafast", "g": "10"}
    return _encode(path, "libx264", _panning(30), pix_fmt="yuv420p", options=options)


def test_prores_422_hq_10bit_probes_and_analyses_with_its_cut(tmp_path):
    cut, frames = 30, 60
    video = _encode(
        tmp_path / "A001.mov",
        "prores_ks",
        shots_video([cut], frames),
        pix_fmt="yuv422p10le",
        options={"profile": "3"},  # 422 HQ
    )
    info = probe(video)
    assert info["video_codec"] == "prores" and info["bit_depth"] == 10
    assert info["pix_fmt"] == "yuv422p10le" and info["mime"] == "video/quicktime"
    assert info["frame_count"] == frames
    assert info["duration_s"] == pytest.approx(frames / RATE, abs=1e-3)
    assert info["fps"] == pytest.approx(RATE)

    thumb = tmp_path / "thumb.jpg"
    result = analyse(video, thumbnail_path=thumb)
    bounds = [(s["start_frame"], s["end_frame"]) for s in result["shots"]]
    assert bounds == [(0, cut), (cut, frames)]
    assert result["shots"][1]["start_s"] == pytest.approx(cut / RATE, abs=1e-3)
    with Image.open(thumb) as picture:
        assert picture.format == "JPEG" and picture.size == SIZE
    assert (result["thumbnail"]["width"], result["thumbnail"]["height"]) == SIZE


def test_variable_frame_rate_is_reported_and_constant_rate_is_not(tmp_path):
    # A phone slowing down in low light: 1 s at 30 fps, then 2 s at 15 fps, cut at frame 40.
    steps = [3000] * 30 + [6000] * 30  # in 1/90000 s
    pts = np.cumsum([0, *steps[:-1]])
    cut = 40
    vfr = _encode(
        tmp_path / "vfr.mp4",
        "libx264",
        shots_video([cut], len(steps)),
        pix_fmt="yuv420p",
        options={"preset": "ultrafast", "x264-params": X264},
        pts=pts,
    )
    true_s = sum(steps) / 90000
    result = analyse(vfr)
    info = result["probe"]
    assert info["vendor"]["variable_frame_rate"] is True
    assert info["fps"] == pytest.approx(len(steps) / true_s, rel=0.05)  # the average, 20 fps
    assert info["duration_s"] == pytest.approx(true_s, abs=0.1)
    assert info["frame_count"] == len(steps)
    first, second = result["shots"]
    assert first["end_frame"] == second["start_frame"] == cut
    assert second["start_s"] == pytest.approx(pts[cut] / 90000, abs=1e-3)
    assert first["end_s"] == second["start_s"]

    cfr = _h264(tmp_path / "cfr.mp4")
    assert probe(cfr)["fps"] == pytest.approx(RATE)
    assert vendor_metadata(cfr)["variable_frame_rate"] is False


def test_rotated_phone_video_is_reported_and_shown_upright(tmp_path):
    # Stored landscape, red left and blue right; shown turned clockwise: red on top.
    picture = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    picture[:, : SIZE[0] // 2, 0] = picture[:, SIZE[0] // 2 :, 2] = 255
    video = _encode(
        tmp_path / "IMG_0001.mp4",
        "libx264",
        [picture] * 30,
        pix_fmt="yuv420p",
        options={"preset": "ultrafast"},
        rotation=-90,  # FFmpeg's display matrix angle, counter-clockwise
    )
    info = probe(video)
    assert (info["rotation"], info["width"], info["height"]) == (90, SIZE[1], SIZE[0])

    thumb, previews = tmp_path / "thumb.jpg", tmp_path / "previews"
    result = analyse(video, thumbnail_path=thumb, preview_dir=previews)
    assert result["probe"]["vendor"]["rotation"] in (90, 270)
    assert result["thumbnail"]["height"] > result["thumbnail"]["width"]
    (shot,) = result["shots"]
    for path in (thumb, previews / shot["preview"]):
        with Image.open(path) as shown:
            assert shown.height > shown.width
            _assert_red_on_top(shown)
    with Image.open(previews / SHEET_NAME) as sheet:
        assert sheet.height > sheet.width  # one portrait tile


def _assert_red_on_top(picture: Image.Image) -> None:
    pixels = np.asarray(picture.convert("RGB"), np.float32)
    quarter = pixels.shape[0] // 4
    top, bottom = pixels[:quarter].mean(axis=(0, 1)), pixels[-quarter:].mean(axis=(0, 1))
    assert top[0] > top[2] + 100 and bottom[2] > bottom[0] + 100


@pytest.mark.parametrize(
    ("transfer", "name", "hdr"),
    [("smpte2084", "PQ", True), ("arib-std-b67", "HLG", True), ("bt709", None, False)],
)
def test_hevc_10bit_transfer_tells_hdr_from_sdr(tmp_path, transfer, name, hdr):
    primaries, matrix = ("bt2020", "bt2020nc") if hdr else ("bt709", "bt709")
    params = f"log-level=error:colorprim={primaries}:transfer={transfer}:colormatrix={matrix}"
    video = _encode(
        tmp_path / f"{transfer}.mp4",
        "libx265",
        _panning(10),
        pix_fmt="yuv420p10le",
        options={"preset": "ultrafast", "x265-params": params},
    )
    info = probe(video)
    assert info["video_codec"] == "hevc" and info["bit_depth"] == 10
    assert info["color_transfer"] == transfer
    vendor = vendor_metadata(video)
    assert vendor["hdr"] is hdr and vendor["transfer"] == name and vendor["bit_depth"] == 10
