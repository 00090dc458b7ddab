"""The one walker of each layout: BMFF boxes read from memory or from a file's headers agree,
and JPEG segments, PNG and RIFF chunks are found where they are."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from outtake.provenance.bmff import boxes, file_boxes
from outtake.provenance.chunks import jpeg_segments, png_chunks, riff_chunks


def _box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:  # size 1: a 64-bit size follows the type
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_file_boxes_read_only_headers_and_agree_with_boxes(tmp_path):
    data = _box(b"ftyp", b"isom") + _box(b"mdat", b"\0" * 1000, large=True) + _box(b"moov", b"m")
    path = tmp_path / "a.mp4"
    path.write_bytes(data)
    with path.open("rb") as f:
        from_file = list(file_boxes(f))
    assert from_file == list(boxes(data))
    assert [(b.kind, b.payload - b.start, b.end) for b in from_file] == [
        (b"ftyp", 8, 12),
        (b"mdat", 16, 1028),
        (b"moov", 8, 1037),
    ]
    with path.open("rb") as f, pytest.raises(ValueError, match="truncated"):
        list(file_boxes(f, 0, len(data) + 8))  # a box said to follow is not there
    with pytest.raises(ValueError, match="bad box size"):
        list(boxes(data + struct.pack(">I4s", 4, b"bad!")))


def test_jpeg_png_and_webp_parts():
    def encoded(fmt: str) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(out, fmt)
        return out.getvalue()

    jpeg = encoded("JPEG")
    segments = list(jpeg_segments(jpeg))
    assert segments[0].kind == b"\xe0" and jpeg[segments[0].payload : segments[0].payload + 4] == (
        b"JFIF"
    )
    assert segments[-1].kind == b"\xda" and segments[-1].end == len(jpeg)
    with pytest.raises(ValueError):
        list(jpeg_segments(jpeg[:20] + b"\x00" + jpeg[21:]))
    assert [c.kind for c in png_chunks(encoded("PNG"))] == [b"IHDR", b"IDAT", b"IEND"]
    webp = encoded("WEBP")
    (chunk,) = riff_chunks(webp)
    assert chunk.kind in (b"VP8 ", b"VP8L") and chunk.end == len(webp)
