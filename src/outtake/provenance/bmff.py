"""Boxes of the ISO base media file format (MP4, MOV), a layout JUMBF shares: a 32-bit size
(1: a 64-bit size follows; 0: to the end), a four-letter type, then the payload."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple


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
    return _boxes(lambda pos, n: data[pos : pos + n], start, end)


def file_boxes(file: BinaryIO, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """boxes() of an open file, reading only each box's 8–16 byte header: a few seeks even for
    a huge file. end defaults to the file's size."""
    end = os.fstat(file.fileno()).st_size if end is None else end

    def read(pos: int, n: int) -> bytes:
        file.seek(pos)
        return file.read(n)

    return _boxes(read, start, end)


def _boxes(read: Callable[[int, int], bytes], start: int, end: int) -> Iterator[Box]:
    pos = start
    while pos + 8 <= end:
        header = read(pos, 16)
        if len(header) < 8:
            raise ValueError("truncated box header")
        size, kind = struct.unpack(">I4s", header[:8])
        length = 8
        if size == 1:
            if len(header) < 16:
                raise ValueError("truncated box header")
            (size,) = struct.unpack(">Q", header[8:16])
            length = 16
        elif size == 0:
            size = end - pos
        if size < length:
            raise ValueError("bad box size")
        yield Box(bytes(kind), pos, pos + length, pos + size)
        pos += size
