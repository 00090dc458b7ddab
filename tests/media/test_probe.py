import json
import os
from pathlib import Path

import av
import pytest
from PIL import Image, ImageFile

from outtake.media.errors import MediaError
from outtake.media.probe import KEYS, probe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BIGBUCKBUNNY = FIXTURES / "video" / "bigbuckbunny.mp4"
BIKES = FIXTURES / "video" / "bikes.mp4"


def decoded_facts(path: Path) -> dict:
    """The truth by brute force: decode every frame with PyAV, independently of probe()."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        has_audio = bool(container.streams.audio)
    times = [f.time for f in frames]
    step = (max(times) - min(times)) / (len(frames) - 1)
    return {
        "frame_count": len(frames),
        "size": {(f.width, f.height) for f in frames},
        "fps": 1 / step,
        "duration_s": max(times) - min(times) + step,
        "has_audio": has_audio,
    }


@pytest.mark.parametrize(
    ("path", "size", "codec", "audio"),
    [(BIGBUCKBUNNY, (1280, 720), "h264", True), (BIKES, (640, 272), "h264", False)],
    ids=["bigbuckbunny", "bikes"],
)
def test_probe_fixture_videos_match_a_full_decode(path, size, codec, audio):
    info = probe(path)
    truth = decoded_facts(path)

    assert set(info) == set(KEYS)
    assert json.loads(json.dumps(info)) == info
    assert info["kind"] == "video"
    assert info["mime"] == "video/mp4"
    assert info["size_bytes"] == os.path.getsize(path)
    assert truth["size"] == {size}
    assert (info["width"], info["height"]) == size
    assert info["rotation"] == 0
    assert info["video_codec"] == codec
    assert info["pix_fmt"] == "yuv420p" and info["bit_depth"] == 8
    assert info["frame_count"] == truth["frame_count"]
    assert info["fps"] == pytest.approx(truth["fps"], rel=1e-3)
    assert info["fps"] == pytest.approx(25.0)
    assert info["duration_s"] == pytest.approx(truth["duration_s"], abs=0.05)
    assert info["has_audio"] is truth["has_audio"] is audio
    assert info["bitrate"] == pytest.approx(
        os.path.getsize(path) * 8 / info["duration_s"], rel=0.02
    )
    assert 0 < info["video_bitrate"] < info["bitrate"]
    assert info["image_mode"] is None


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="reads /proc/self/io (Linux)")
def test_an_mp4_is_probed_from_its_index_not_read_through():
    # The header's index says what is present; only the first and last frames are decoded.
    def bytes_read() -> int:
        with open("/proc/self/io") as io:
            return int(next(line for line in io if line.startswith("rchar")).split()[1])

    probe(BIKES)  # the first call imports modules, which reads files too
    before = bytes_read()
    info = probe(BIGBUCKBUNNY)
    read = bytes_read() - before
    assert info["frame_count"] == decoded_facts(BIGBUCKBUNNY)["frame_count"]
    assert read < 0.5 * BIGBUCKBUNNY.stat().st_size


def test_bigbuckbunny_details():
    info = probe(BIGBUCKBUNNY)
    assert info["duration_s"] == pytest.approx(5.28, abs=0.05)  # 132 frames at 25 fps
    assert (info["audio_codec"], info["audio_channels"], info["audio_sample_rate"]) == (
        "aac",
        6,
        48000,
    )
    assert info["profile"] == "Main"
    # The file says 1970-01-01: a muxer with no clock, not a real date.
    assert info["creation_time"] is None
    assert info["gps"] is None and info["camera_make"] is None


def test_bikes_has_no_audio_fields():
    info = probe(BIKES)
    assert info["duration_s"] == pytest.approx(10.0, abs=0.05)
    assert info["audio_codec"] is info["audio_channels"] is info["audio_sample_rate"] is None


def test_quicktime_tags_and_rotation(video):
    # A phone filmed upright: the display matrix turns the landscape-coded frames 90° clockwise.
    path = video(
        "phone.mov",
        size=(320, 240),
        frames=10,
        rotation=-90,
        metadata={
            "creation_time": "2024-05-06T07:08:09.000000Z",
            "location": "+37.7749-122.4194+010.000/",
            "make": "Apple",
            "model": "iPhone 15 Pro",
        },
    )
    info = probe(path)
    assert info["mime"] == "video/quicktime"
    assert (info["width"], info["height"], info["rotation"]) == (240, 320, 90)
    assert info["frame_count"] == 10
    assert info["creation_time"] == "2024-05-06T07:08:09+00:00"
    assert (info["camera_make"], info["camera_model"]) == ("Apple", "iPhone 15 Pro")
    assert info["gps"] == {"lat": 37.7749, "lon": -122.4194, "alt": 10.0}


def test_apple_metadata_keys_in_mp4(video):
    path = video(
        "keys.mp4",
        frames=5,
        options={"movflags": "use_metadata_tags"},  # writes QuickTime "mdta" keys like a phone
        metadata={
            "com.apple.quicktime.creationdate": "2023-06-01T12:34:56+0200",
            "com.apple.quicktime.location.ISO6709": "-33.8688+151.2093+005.500/",
            "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 12",
            # Vendors name serial tags differently; any tag named like one is taken.
            "camera_serial_number": "C02XK1",
        },
    )
    info = probe(path)
    assert info["creation_time"] == "2023-06-01T12:34:56+02:00"
    assert info["gps"] == {"lat": -33.8688, "lon": 151.2093, "alt": 5.5}
    assert (info["camera_make"], info["camera_model"]) == ("Apple", "iPhone 12")
    assert info["camera_serial"] == "C02XK1"


def test_jpeg_exif_camera_time_and_gps(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise
    details = exif.get_ifd(0x8769)
    details[0xA431] = "032021001234"
    details[0x9003] = "2023:07:14 10:20:30"
    details[0x9011] = "+02:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (33.0, 52.0, 7.68), 3: "W", 4: (70.0, 30.0, 0.0), 5: b"\x01", 6: 12.5})
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 200), "green").save(path, exif=exif)

    info = probe(path)
    assert set(info) == set(KEYS)
    assert (info["kind"], info["container"], info["mime"]) == ("image", "jpeg", "image/jpeg")
    assert (info["width"], info["height"], info["rotation"]) == (200, 300, 90)
    assert (info["camera_make"], info["camera_model"]) == ("Canon", "Canon EOS R5")
    assert info["camera_serial"] == "032021001234"
    assert info["creation_time"] == "2023-07-14T10:20:30+02:00"
    assert info["gps"]["lat"] == pytest.approx(-(33 + 52 / 60 + 7.68 / 3600))
    assert info["gps"]["lon"] == pytest.approx(-70.5)
    assert info["gps"]["alt"] == pytest.approx(-12.5)  # altitude ref 1: below sea level
    assert info["duration_s"] is info["frame_count"] is info["fps"] is None
    assert info["has_audio"] is False
    assert info["image_mode"] == "RGB"


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png"])
def test_photo_fixtures(name):
    path = FIXTURES / "photo" / name
    with Image.open(path) as image:
        size, mode = image.size, image.mode
    info = probe(path)
    assert (info["kind"], info["container"], info["mime"]) == ("image", "png", "image/png")
    assert (info["width"], info["height"]) == size
    assert info["image_mode"] == mode
    assert info["size_bytes"] == os.path.getsize(path)


# --- refusals -------------------------------------------------------------------------------


def refusal(path: Path, **limits) -> MediaError:
    with pytest.raises(MediaError) as caught:
        probe(path, **limits)
    assert len(caught.value.reason) > 20  # a sentence, not a code
    return caught.value


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    error = refusal(path)
    assert error.code == "empty"
    assert "empty" in error.reason


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("This is a shopping list, not a video.\n" * 20)
    error = refusal(path)
    assert error.code == "not_decodable"
    assert "neither a video nor a photo" in error.reason


def cut(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    out = path.with_name("cut-" + path.name)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def test_truncated_mp4_with_index_at_front(video):
    whole = video("faststart.mp4", options={"movflags": "faststart"})
    assert whole.read_bytes()[4:8] == b"ftyp" and b"moov" in whole.read_bytes()[:200]
    error = refusal(cut(whole, 0.6))
    assert error.code == "truncated"
    assert "cut off" in error.reason
    assert "50 frames are declared" in error.reason  # the index survives and says so


def test_truncated_mp4_with_index_at_end(video):
    whole = video("moov-last.mp4")
    assert whole.read_bytes().rfind(b"moov") > len(whole.read_bytes()) * 0.6
    error = refusal(cut(whole, 0.6))
    assert error.code == "truncated"
    assert "cut off" in error.reason and "moov" in error.reason


def test_mp4_whose_recording_was_never_finalised(video):
    whole = video("unfinished.mp4")
    data = whole.read_bytes()
    path = whole.with_name("no-moov.mp4")
    path.write_bytes(data[: data.rfind(b"moov") - 4])  # every box complete, but no index
    error = refusal(path)
    assert error.code == "truncated"
    assert "never finalised" in error.reason


def test_truncated_matroska_is_caught_by_its_duration(video):
    error = refusal(cut(video("clip.mkv"), 0.6))
    assert error.code == "truncated"
    assert "should last 2.0 s" in error.reason


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.effect_noise((400, 300), 50).convert("RGB").save(path, quality=90)
    error = refusal(cut(path, 0.5))
    assert error.code == "truncated"


def test_audio_only_file(audio):
    error = refusal(audio("song.m4a"))
    assert error.code == "unsupported"
    assert "audio-only" in error.reason


def test_data_only_file(tmp_path):
    path = tmp_path / "subtitles.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n")
    error = refusal(path)
    assert error.code == "unsupported"
    assert "no video or picture" in error.reason


def test_video_longer_than_the_limit():
    error = refusal(BIKES, max_duration_s=5)
    assert error.code == "too_large"
    assert "0 min 10 s" in error.reason and "0 min 05 s" in error.reason


def test_huge_png_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("1", (50_000, 2_500)).save(path)  # 125 megapixels in a few KB
    assert path.stat().st_size < 100_000

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = refusal(path)
    assert error.code == "too_large"
    assert "50000×2500" in error.reason and "100,000,000" in error.reason


def test_image_far_over_the_limit_still_names_its_size():
    # Over twice the limit Pillow's own bomb guard fires first; the reason still gives W×H.
    error = refusal(FIXTURES / "photo" / "coffee.png", max_pixels=10_000)
    assert error.code == "too_large"
    assert "600×400" in error.reason and "10,000" in error.reason
    assert Image.MAX_IMAGE_PIXELS == 10_000  # and Pillow's guard is left at the limit


def test_long_thin_png_within_the_limit(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("L", (50_000, 20), 128).save(path)
    info = probe(path)
    assert (info["width"], info["height"], info["image_mode"]) == (50_000, 20, "L")
