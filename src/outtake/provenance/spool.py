"""A file in memory that is emptied and reused clip after clip, moving to disk past a size.

Packaging passes every clip through memory twice (the remuxed clip the signer reads, and the
signed file before it goes into the shard). A fresh buffer per clip makes the kernel hand out and
zero new pages for every clip; kept and reused, the pages are already there. The memory is an
anonymous mapping, so growing it remaps pages instead of copying them.
"""

from __future__ import annotations

import io
import mmap
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 4 << 20
# A clip stays in memory up to this size; a longer one moves to a temporary file.
SPOOL_BYTES = 256 << 20


class Spool(io.RawIOBase):
    """Readable, writable, seekable; reset() empties it and keeps its memory."""

    def __init__(self, max_bytes: int = SPOOL_BYTES) -> None:
        super().__init__()
        self._max = max_bytes
        # Private: a shared anonymous mapping cannot grow (its new pages raise SIGBUS).
        self._map = mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE)
        self._size = 0
        self._pos = 0
        self._file: BinaryIO | None = None  # set once a clip outgrows max_bytes

    def reset(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._size = self._pos = 0

    @property
    def size(self) -> int:
        if self._file is not None:
            self._file.flush()
            return os.fstat(self._file.fileno()).st_size
        return self._size

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._file.tell() if self._file is not None else self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._file is not None:
            return self._file.seek(offset, whence)
        pos = (0, self._pos, self._size)[whence] + offset
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        end = self._pos + n
        if self._file is None and end > self._max:
            self._spill()
        if self._file is not None:
            return self._file.write(data)
        if end > len(self._map):
            self._map.resize(max(end, 2 * len(self._map)))
        if self._pos > self._size:  # a seek past the end: the gap reads as zeros
            self._map[self._size : self._pos] = bytes(self._pos - self._size)
        self._map[self._pos : end] = data
        self._pos = end
        self._size = max(self._size, end)
        return n

    def readinto(self, b) -> int:
        if self._file is not None:
            return self._file.readinto(b)
        n = max(0, min(len(b), self._size - self._pos))
        with memoryview(self._map) as view:
            b[:n] = view[self._pos : self._pos + n]
        self._pos += n
        return n

    def chunks(self) -> Iterator[memoryview]:
        """The content from the start: one view of the memory (no copy), or CHUNK-sized reads
        once spilled. A view is valid until the next one is asked for."""
        if self._file is not None:
            self._file.seek(0)
            buf = bytearray(CHUNK)
            with memoryview(buf) as view:
                while n := self._file.readinto(buf):
                    yield view[:n]
            return
        with memoryview(self._map) as view, view[: self._size] as content:
            yield content

    def _spill(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by reset() or close()
        with memoryview(self._map) as view:
            self._file.write(view[: self._size])
        self._file.seek(self._pos)

    def close(self) -> None:
        self.reset()
        self._map.close()
        super().close()
