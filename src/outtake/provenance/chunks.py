"""The segments of a JPEG and the chunks of a PNG or a RIFF file (WebP), read in place: the
one walker of each that cleaning (cut.py) and reading the C2PA store (c2pa_store.py) use.
BMFF boxes (MP4, MOV, JUMBF) are read by bmff.py.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

JPEG_SOI, JPEG_SOS, JPEG_EOI = b"\xff\xd8", 0xDA, 0xD9
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Part(NamedTuple):
    """A JPEG segment or a chunk: data[start:end] is all of it, data[payload:payload_end]
    what it carries."""

    kind: bytes  # the chunk's four letters; a JPEG segment's marker byte
    start: int
    payload: int
    payload_end: int
    end: int


def jpeg_segments(data: bytes) -> Iterator[Part]:
    """The marker segments after SOI, up to the start of scan (SOS), which runs to the end of
    data: its entropy-coded image is not parsed. Fill bytes are passed over; an end of image
    before any scan ends the walk. ValueError on a broken marker stream."""
    pos = len(JPEG_SOI)
    while pos < len(data):
        if data[pos] != 0xFF or pos + 2 > len(data):
            raise ValueError("corrupt JPEG marker stream")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == JPEG_EOI:
            return
        if pos + 4 > len(data):
            raise ValueError("truncated JPEG segment")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == JPEG_SOS:
            yield Part(bytes([marker]), pos, pos + 4, len(data), len(data))
            return
        yield Part(bytes([marker]), pos, pos + 4, pos + 2 + length, pos + 2 + length)
        pos += 2 + length


def png_chunks(data: bytes) -> Iterator[Part]:
    """The chunks after the PNG signature: length, type, payload, CRC."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield Part(kind, pos, pos + 8, pos + 8 + length, pos + 12 + length)
        pos += 12 + length


def riff_chunks(data: bytes) -> Iterator[Part]:
    """The chunks after a RIFF header (RIFF, size, form type): type, little-endian length,
    payload, padded to an even length."""
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        yield Part(kind, pos, pos + 8, pos + 8 + length, pos + 8 + length + (length & 1))
        pos += 8 + length + (length & 1)
