"""WebDataset shards written in place: a signer writes each media file straight into the tar.

A tar header precedes its data and holds its size, which a C2PA signer only knows at the end; so
a member's header is written as a placeholder, the signer streams the file into the shard through
a window that hashes what it writes, and the header is patched afterwards. The media is written
once and read by nothing but the shard's own hash, which runs on another thread (hashlib releases
the GIL) while the next shard is written.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK = 512
READ = 1 << 22


@dataclass(frozen=True)
class Member:
    shard: str  # the shard's file name
    name: str  # the member's name inside the shard, e.g. "<key>.mp4"
    offset: int  # where the member's data starts in the shard
    size: int
    sha256: str


@dataclass(frozen=True)
class Shard:
    name: str
    path: Path
    size: int
    sha256: str
    samples: int


class _Window(io.RawIOBase):
    """The member's bytes as a file of their own, hashed while written in order."""

    def __init__(self, fh: BinaryIO, base: int) -> None:
        self._fh = fh
        self._base = base
        self._pos = 0
        self._at = -1  # where the shard file stands, relative to base (-1: unknown)
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.in_order = True  # false if the writer went back: then the hash is recomputed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = {0: 0, 1: self._pos, 2: self.size}[whence] + offset
        return self._pos

    def write(self, data) -> int:
        if self._pos != self.size:
            self.in_order = False
        # Seek only when the signer moved: a seek flushes the file's buffer, and signers make
        # thousands of small writes in a row.
        if self._at != self._pos:
            self._fh.seek(self._base + self._pos)
        n = self._fh.write(data)
        if self.in_order:
            self.sha256.update(data)
        self._pos += n
        self._at = self._pos
        self.size = max(self.size, self._pos)
        return n

    def readinto(self, b) -> int:
        self._fh.seek(self._base + self._pos)
        want = max(0, min(len(b), self.size - self._pos))
        data = self._fh.read(want)
        b[: len(data)] = data
        self._pos += len(data)
        self._at = self._pos
        return len(data)

    def digest(self) -> str:
        if self.in_order:
            return self.sha256.hexdigest()
        self.seek(0)
        h = hashlib.sha256()
        while chunk := self.read(READ):
            h.update(chunk)
        return h.hexdigest()


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(READ):
            h.update(chunk)
    return h.hexdigest()


Write = Callable[[BinaryIO], None]


class ShardWriter:
    """Writes samples into shards of about max_bytes each: shard-000000.tar, ..."""

    def __init__(self, folder: Path, max_bytes: int, prefix: str = "shard") -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.mtime = int(time.time())
        self._fh: BinaryIO | None = None
        self._name = ""
        self._samples = 0
        self._done: list[tuple[str, Path, int, int, Future[str]]] = []
        self._hasher = ThreadPoolExecutor(max_workers=1)
        folder.mkdir(parents=True, exist_ok=True)

    def start_sample(self) -> None:
        """Begin a sample: a new shard when the current one is full (samples never split)."""
        if self._fh is not None and self._fh.tell() >= self.max_bytes:
            self._close_shard()
        if self._fh is None:
            self._name = f"{self.prefix}-{len(self._done):06d}.tar"
            self._fh = open(self.folder / self._name, "w+b")  # noqa: SIM115
            self._samples = 0
        self._samples += 1

    def add(self, name: str, write: Write) -> Member:
        """Let write(window) stream a member's bytes into the shard; return where they went."""
        assert self._fh is not None, "start_sample() first"
        header_at = self._fh.tell()
        self._fh.write(bytes(BLOCK))
        window = _Window(self._fh, header_at + BLOCK)
        write(window)
        digest = window.digest()
        self._fh.seek(header_at)
        self._fh.write(_header(name, window.size, self.mtime))
        end = header_at + BLOCK + window.size
        self._fh.seek(end)
        self._fh.write(bytes(-end % BLOCK))
        return Member(self._name, name, header_at + BLOCK, window.size, digest)

    def add_bytes(self, name: str, data: bytes) -> Member:
        return self.add(name, lambda w: w.write(data))

    def _close_shard(self) -> None:
        assert self._fh is not None
        self._fh.write(bytes(2 * BLOCK))  # the tar end-of-archive marker
        size = self._fh.tell()
        self._fh.close()
        path = self.folder / self._name
        self._done.append(
            (self._name, path, size, self._samples, self._hasher.submit(_hash_file, path))
        )
        self._fh = None

    def close(self) -> list[Shard]:
        if self._fh is not None:
            self._close_shard()
        shards = [Shard(n, p, s, f.result(), k) for n, p, s, k, f in self._done]
        self._hasher.shutdown()
        return shards
