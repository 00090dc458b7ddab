import hashlib

import pytest

from outtake.media.hashing import sha256_file
from outtake.media.metadata import normalise_timestamp, parse_iso6709, video_tags


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+37.7749-122.4194+010.000/", (37.7749, -122.4194, 10.0)),
        ("+37.7749-122.4194/", (37.7749, -122.4194, None)),
        ("-33.8688+151.2093-002.5/", (-33.8688, 151.2093, -2.5)),
        ("+4042.600-07400.360/", (40.71, -74.006, None)),  # degrees and minutes
        ("+404236-0740021.6/", (40.71, -74.006, None)),  # degrees, minutes and seconds
    ],
)
def test_iso6709_points(text, expected):
    point = parse_iso6709(text)
    assert (point["lat"], point["lon"]) == pytest.approx(expected[:2], abs=1e-4)
    assert point["alt"] == (pytest.approx(expected[2]) if expected[2] is not None else None)


@pytest.mark.parametrize("text", ["", "somewhere", "+91.0000+000.0000/", "+10.0-190.0/"])
def test_iso6709_nonsense_is_no_place(text):
    assert parse_iso6709(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T07:08:09.000000Z", "2024-05-06T07:08:09+00:00"),
        ("2023-06-01T12:34:56+0200", "2023-06-01T12:34:56+02:00"),
        ("2023:07:14 10:20:30", "2023-07-14T10:20:30"),
        ("2023:07:14 10:20:30+02:00", "2023-07-14T10:20:30+02:00"),
        ("1970-01-01T00:00:00.000000Z", None),  # a muxer with no clock
        ("0000:00:00 00:00:00", None),  # a camera with no clock
        ("", None),
        (None, None),
    ],
)
def test_timestamps(text, expected):
    assert normalise_timestamp(text) == expected


def test_container_tags_win_over_stream_tags():
    tags = video_tags(
        {"creation_time": "2024-01-02T03:04:05Z", "com.apple.quicktime.make": "Apple"},
        {"creation_time": "2020-01-01T00:00:00Z", "make": "Other"},
    )
    assert tags["creation_time"] == "2024-01-02T03:04:05+00:00"
    assert tags["camera_make"] == "Apple"
    assert tags["gps"] is None and tags["camera_serial"] is None


def test_sha256_streams_in_chunks(tmp_path):
    data = bytes(range(256)) * 5000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=4096) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()
