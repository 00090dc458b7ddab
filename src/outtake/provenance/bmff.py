"""Boxes of the ISO base media file format (MP4, MOV), a layout JUMBF shares: a 32-bit size
(1: a 64-bit size follows; 0: to the end), a four-letter type, then the payload."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple


class Box(NamedTuple):
    kind: bytes
    start: int  # where its header starts
    payload: int  # where its payload starts
    end: int


def boxes(
    data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None
) -> Iterator[Box]:
    """The boxes laid end to end between start and end; ValueError on a size that cannot be."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError("bad box size")
        yield Box(bytes(kind), pos, pos + header, pos + size)
        pos += size
