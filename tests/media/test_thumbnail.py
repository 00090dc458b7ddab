from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from outtake.media.analysis.decode import VideoSource
from outtake.media.analysis.pipeline import Pipeline
from outtake.media.analysis.shots import Shots
from outtake.media.analysis.thumbnail import Thumbnail
from outtake.media.errors import MediaError
from outtake.media.images import to_rgb
from outtake.media.probe import probe
from outtake.media.thumbnail import make_thumbnail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BIGBUCKBUNNY = FIXTURES / "video" / "bigbuckbunny.mp4"
BIKES = FIXTURES / "video" / "bikes.mp4"
MODE_FIXTURES = sorted((FIXTURES / "photo" / "modes").iterdir())
COFFEE = FIXTURES / "photo" / "coffee.png"


def opened(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def assert_plain_jpeg(path: Path, size: tuple[int, int]) -> Image.Image:
    image = opened(path)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == size
    assert not image.getexif() and "icc_profile" not in image.info
    assert b"Exif" not in path.read_bytes()
    assert not path.with_name(path.name + ".part").exists()
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


# --- photos in every mode -----------------------------------------------------------------


def generated_modes(tmp_path: Path) -> list[Path]:
    """Files whose pixels really are in odd modes (the fixture WebPs decode as RGB)."""
    base = opened(COFFEE).convert("RGB")
    paths = []
    for mode in ("1", "L", "LA", "P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "I", "I;16", "F"):
        path = tmp_path / f"{mode.replace(';', '_')}.tif"
        (base.convert("P").convert("PA") if mode == "PA" else base.convert(mode)).save(path)
        paths.append(path)
    transparent = base.convert("P")
    transparent.info["transparency"] = 0
    transparent.save(tmp_path / "P-transparency.png")
    base.convert("I;16").save(tmp_path / "I16.png")
    return [*paths, tmp_path / "P-transparency.png", tmp_path / "I16.png"]


def test_every_mode_probes_and_thumbnails_in_proportion(tmp_path):
    files = MODE_FIXTURES + generated_modes(tmp_path)
    assert {opened(p).mode for p in files} >= {
        "1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I", "I;16", "F",
    }  # fmt: skip
    reference = opened(COFFEE).convert("RGB")
    for path in files:
        original = opened(path)
        info = probe(path)
        assert info["kind"] == "image", path
        assert info["image_mode"] == original.mode, path
        assert (info["width"], info["height"]) == original.size, path

        out = tmp_path / f"{path.name}.jpg"
        width, height = make_thumbnail(path, out)
        thumb = assert_plain_jpeg(out, (width, height))
        assert max(width, height) == 480, path
        assert width / height == pytest.approx(original.width / original.height, rel=0.01), path
        low, high = thumb.convert("L").getextrema()
        assert high - low > 100, f"{path}: a flat thumbnail ({low}–{high})"
        if path.parent == tmp_path and original.mode not in ("1", "P", "PA"):
            # Same picture in another mode: the thumbnail must look like the RGB one.
            expected = reference.resize((width, height))
            if original.mode in ("L", "LA", "I", "I;16", "F"):
                expected = expected.convert("L").convert("RGB")
            assert mean_difference(thumb, expected) < 8, path


def test_data_modes_are_stretched_not_clipped(tmp_path):
    # A float image of 0.0–1.0 would come out black if converted as levels.
    gradient = Image.linear_gradient("L").resize((300, 200))
    as_float = gradient.point(lambda v: v / 255.0, "F")
    as_float.save(tmp_path / "float.tif")
    make_thumbnail(tmp_path / "float.tif", tmp_path / "float.jpg")
    assert opened(tmp_path / "float.jpg").convert("L").getextrema() == pytest.approx(
        (0, 255), abs=3
    )


@pytest.mark.parametrize("mode", ["HSV", "La", "RGBa", "LAB"])
def test_modes_no_file_format_stores_convert_in_memory(mode):
    original = opened(COFFEE).convert("RGB").resize((120, 80))
    if mode == "La":
        converted = Image.merge("La", (original.convert("L"), Image.new("L", original.size, 255)))
    else:
        converted = original.convert("RGBA" if mode == "RGBa" else "RGB").convert(mode)
    rgb = to_rgb(converted)
    assert rgb.mode == "RGB" and rgb.size == original.size
    expected = original.convert("L").convert("RGB") if mode == "La" else original
    assert mean_difference(rgb, expected) < 6


def test_premultiplied_alpha_is_undone_before_compositing():
    # Grey 127 at half opacity, stored premultiplied as 64, over white: about 191.
    assert to_rgb(Image.new("La", (4, 4), (64, 128))).getpixel((0, 0)) == pytest.approx(
        (191, 191, 191), abs=2
    )


def test_transparency_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 100, 100))
    image.save(tmp_path / "half.png")
    make_thumbnail(tmp_path / "half.png", tmp_path / "half.jpg")
    thumb = opened(tmp_path / "half.jpg")
    assert thumb.getpixel((150, 50)) == pytest.approx((255, 255, 255), abs=3)
    assert thumb.getpixel((50, 50)) == pytest.approx((200, 0, 0), abs=6)


def test_exif_orientation_is_applied_and_exif_dropped(tmp_path):
    image = Image.new("RGB", (400, 200), "blue")
    image.paste((255, 0, 0), (0, 0, 200, 200))  # left half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise: the stored left goes to the top
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 0.0), 3: "E", 4: (2.0, 21.0, 0.0)})
    image.save(tmp_path / "turned.jpg", exif=exif, quality=95)

    size = make_thumbnail(tmp_path / "turned.jpg", tmp_path / "thumb.jpg", max_side=100)
    assert size == (50, 100)
    thumb = assert_plain_jpeg(tmp_path / "thumb.jpg", size)
    assert thumb.getpixel((25, 10))[0] > 200  # top: red
    assert thumb.getpixel((25, 90))[2] > 200  # bottom: blue


def test_large_jpeg_is_drafted_not_decoded_in_full(tmp_path, monkeypatch):
    path = tmp_path / "large.jpg"
    opened(COFFEE).convert("RGB").resize((6000, 4000)).save(path, quality=85)
    decoded = []
    load = ImageFile.ImageFile.load

    def recording_load(self):
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    assert make_thumbnail(path, tmp_path / "large-thumb.jpg") == (480, 320)
    # The JPEG decoder was asked for a 1/4 or 1/8 scale, never the 24 megapixels.
    assert decoded and max(w * h for w, h in decoded) <= 1500 * 1000


def test_long_thin_png(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("L", (50_000, 20), 90).save(path)
    assert make_thumbnail(path, tmp_path / "strip.jpg") == (480, 1)


def test_huge_png_gets_no_thumbnail(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("1", (50_000, 2_500)).save(path)
    with pytest.raises(MediaError) as caught:
        make_thumbnail(path, tmp_path / "wide.jpg")
    assert caught.value.code == "too_large"
    assert not (tmp_path / "wide.jpg").exists()


def test_empty_and_unreadable_files_get_no_thumbnail(tmp_path):
    (tmp_path / "empty.jpg").touch()
    (tmp_path / "text.mp4").write_text("not a video\n" * 50)
    for name, code in (("empty.jpg", "empty"), ("text.mp4", "not_decodable")):
        with pytest.raises(MediaError) as caught:
            make_thumbnail(tmp_path / name, tmp_path / "out.jpg")
        assert caught.value.code == code
    assert not (tmp_path / "out.jpg").exists()


# --- videos: the thumbnail is a frame of the analysis pass ----------------------------------


def video_thumbnail(path: Path, out: Path, max_side: int = 480) -> tuple[int, int] | None:
    step = Thumbnail(out, max_side=max_side)
    source = VideoSource(path)
    try:
        Pipeline(Shots(), [step]).run(source, probe(path))
    finally:
        source.close()
    return step.size


def frame_at(path: Path, seconds: float) -> Image.Image:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time >= seconds:
                return frame.to_image()
    raise AssertionError("no frame")


def test_video_thumbnail_is_the_frame_at_ten_percent(tmp_path):
    out = tmp_path / "bbb.jpg"
    assert video_thumbnail(BIGBUCKBUNNY, out) == (480, 270)
    thumb = assert_plain_jpeg(out, (480, 270))
    duration = probe(BIGBUCKBUNNY)["duration_s"]
    wanted = frame_at(BIGBUCKBUNNY, 0.10 * duration).resize((480, 270))
    first = frame_at(BIGBUCKBUNNY, 0).resize((480, 270))
    assert mean_difference(thumb, wanted) < 4
    assert mean_difference(thumb, wanted) < mean_difference(thumb, first)


def test_video_thumbnail_respects_max_side(tmp_path):
    assert video_thumbnail(BIKES, tmp_path / "bikes.jpg", max_side=160) == (160, 68)


def test_video_thumbnail_is_turned_upright(video, tmp_path):
    def top_red_bottom_blue(_):
        image = Image.new("RGB", (320, 240), (0, 0, 255))
        image.paste((255, 0, 0), (0, 0, 320, 120))
        return image

    # Stored landscape, shown turned 90° clockwise (a phone held upright).
    path = video("portrait.mp4", frames=10, rotation=-90, picture=top_red_bottom_blue)
    size = video_thumbnail(path, tmp_path / "portrait.jpg")
    assert size == (240, 320)  # never scaled up
    thumb = assert_plain_jpeg(tmp_path / "portrait.jpg", size)
    assert thumb.getpixel((220, 160))[0] > 200  # the stored top is now on the right
    assert thumb.getpixel((20, 160))[2] > 200  # and the stored bottom on the left
