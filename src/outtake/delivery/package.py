"""Build a package: licensed files plus a manifest, hashed in the same pass that writes it."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO


@dataclass
class PackageFile:
    arcname: str
    size: int
    chunks: Iterator[bytes]
    meta: dict


class _HashingReader(io.RawIOBase):
    """Feeds tarfile from a chunk iterator while hashing, so bytes are read once."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self.sha256 = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self.sha256.update(self._buf[:n])
        self.count += n
        self._buf = self._buf[n:]
        return n


class HashingWriter:
    """Hashes what is written through it, so the package's digest needs no second read."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._out.write(data)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    return info


Finish = Callable[[list[dict]], list[tuple[str, bytes]]]


def write_package(out: BinaryIO, files: list[PackageFile], finish: Finish) -> list[dict]:
    """Write files into a tar, then the documents finish() makes from their hashes.

    finish(entries) returns a list of (arcname, bytes) written after the media.
    """
    entries = []
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for f in files:
            reader = _HashingReader(f.chunks)
            tar.addfile(_info(f.arcname, f.size), io.BufferedReader(reader, 1 << 20))
            if reader.count != f.size:
                raise OSError(f"{f.arcname}: read {reader.count} bytes, expected {f.size}")
            entries.append(
                {**f.meta, "path": f.arcname, "size": f.size, "sha256": reader.sha256.hexdigest()}
            )
        for arcname, data in finish(entries):
            tar.addfile(_info(arcname, len(data)), io.BytesIO(data))
    return entries
