"""Watermarked previews and contact sheets: made from decoded frames, carrying no metadata."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from PIL import Image

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.previews import SHEET_NAME, watermarked

from .conftest import shots_video

SERIAL = "SN-CAM-7731"
PLACE = "+46.2044+006.1432+460.000/"  # ISO 6709, as phones write it


def test_each_shot_gets_an_animated_watermarked_preview_and_the_file_a_sheet(clip, tmp_path):
    video = clip("v.mp4", shots_video([50], 100))
    out = tmp_path / "previews"
    result = analyse(video, preview_dir=out)
    names = [shot["preview"] for shot in result["shots"]]
    assert len(names) == 2
    for name in names:
        with Image.open(out / name) as preview:
            assert preview.format == "WEBP" and preview.n_frames >= 2
            assert max(preview.size) <= 320
            assert (
                not preview.getexif() and "xmp" not in preview.info and "exif" not in preview.info
            )
    with Image.open(out / SHEET_NAME) as sheet:
        assert sheet.format == "JPEG"
        assert not sheet.getexif() and "exif" not in sheet.info
        assert sheet.width > sheet.height  # two tiles side by side


def test_the_watermark_is_visible():
    grey = np.full((180, 320, 3), 128, np.uint8)
    marked = np.asarray(watermarked(grey)).astype(int)
    changed = np.abs(marked - 128).max(axis=2) > 40
    assert 0.03 < changed.mean() < 0.5  # plainly there, without hiding the picture


def _tagged_video(path, pictures) -> None:
    """A video whose container names where it was shot and the camera's serial number."""
    tags = {
        "location": PLACE,
        "com.apple.quicktime.location.ISO6709": PLACE,
        "com.apple.quicktime.camera.serialnumber": SERIAL,
    }
    with av.open(str(path), "w", options={"movflags": "use_metadata_tags"}) as container:
        container.metadata.update(tags)
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _tagged_photo(path) -> None:
    """A JPEG with GPS and the camera body's serial number in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (46.0, 12.0, 15.84), "E", (6.0, 8.0, 35.52)
    picture = next(shots_video([], 1, size=(320, 240)))
    Image.fromarray(picture).save(path, exif=exif.tobytes())


def _carries_nothing(path) -> None:
    data = path.read_bytes()
    for private in (SERIAL.encode(), b"46.2044", b"46,2044", b"Exif", b"xmpmeta"):
        assert private not in data, (path.name, private)
    with Image.open(path) as image:
        assert not image.getexif() and "exif" not in image.info and "xmp" not in image.info


def test_previews_and_sheets_drop_the_sources_gps_and_serials(tmp_path):
    video = tmp_path / "phone.mp4"
    _tagged_video(video, shots_video([50], 100))
    photo = tmp_path / "camera.jpg"
    _tagged_photo(photo)
    for source in (video, photo):
        out = tmp_path / f"previews-{source.stem}"
        result = analyse(source, preview_dir=out)
        info = result["probe"]  # the source does carry them
        assert info["camera_serial"] == SERIAL and round(info["gps"]["lat"], 3) == 46.204
        made = [out / shot["preview"] for shot in result["shots"]] + [out / SHEET_NAME]
        assert len(made) >= 2
        for path in made:
            _carries_nothing(path)
