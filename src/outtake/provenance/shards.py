"""WebDataset shards written front to back, each byte hashed as it is written.

A tar header precedes its data and holds its size, which a C2PA signer only knows at the end. So
the signer writes each media file into a reused in-memory spool (c2pa-python holds the whole file
in memory while it signs anyway), and then header, data and padding go into the shard in order:
the member's SHA-256 and the shard's are updated from the same pieces as they are written, and
nothing is read back. Writes are whole WRITE-sized pieces at WRITE-aligned offsets, so the
kernel neither takes a system call per few kilobytes nor zeroes the rest of half-written pages.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from outtake.provenance.spool import Spool

BLOCK = 512
WRITE = 4 << 20


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


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


Write = Callable[[BinaryIO], None]


class ShardWriter:
    """Writes samples into shards of about max_bytes each: <prefix>-000000.tar, ..."""

    def __init__(self, folder: Path, max_bytes: int, prefix: str = "shard") -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.mtime = int(time.time())
        self._spool = Spool()
        self._fd: int | None = None
        self._name = ""
        self._pos = 0
        # The bytes after the last WRITE-aligned offset, not written yet.
        self._pending = bytearray(WRITE)
        self._fill = 0
        self._sha256 = hashlib.sha256()
        self._samples = 0
        self._done: list[Shard] = []
        folder.mkdir(parents=True, exist_ok=True)

    def start_sample(self) -> None:
        """Begin a sample: a new shard when the current one is full (samples never split)."""
        if self._fd is not None and self._pos >= self.max_bytes:
            self._close_shard()
        if self._fd is None:
            self._name = f"{self.prefix}-{len(self._done):06d}.tar"
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.folder / self._name, flags, 0o644)
            self._pos = 0
            self._sha256 = hashlib.sha256()
            self._samples = 0
        self._samples += 1

    def add(self, name: str, write: Write) -> Member:
        """Let write(file) produce a member's bytes (it may seek back), then append it."""
        self._spool.reset()
        write(self._spool)
        return self._append(name, self._spool.chunks(), self._spool.size)

    def add_bytes(self, name: str, data: bytes) -> Member:
        return self._append(name, (data,), len(data))

    def _append(self, name: str, pieces: Iterable, size: int) -> Member:
        assert self._fd is not None, "start_sample() first"
        self._write(_header(name, size, self.mtime))
        offset = self._pos
        member = hashlib.sha256()
        for piece in pieces:
            self._write(piece, member)
        if self._pos - offset != size:
            raise ValueError(f"{name}: {self._pos - offset} bytes written, {size} announced")
        self._write(bytes(-size % BLOCK))
        return Member(self._name, name, offset, size, member.hexdigest())

    def _write(self, data, *hashes) -> None:
        """Append data to the shard, updating its hash and the given ones from the same pieces
        (up to WRITE bytes, so each piece is still in the cache for the next hash and the write).
        """
        view = memoryview(data)
        while view:
            room = WRITE - self._fill
            piece, view = view[:room], view[room:]
            self._sha256.update(piece)
            for h in hashes:
                h.update(piece)
            self._pos += len(piece)
            if len(piece) < room:
                self._pending[self._fill : self._fill + len(piece)] = piece
                self._fill += len(piece)
            else:  # up to the next aligned offset: what was pending and this piece, in one call
                with memoryview(self._pending) as pending:
                    self._write_out(pending[: self._fill], piece)
                self._fill = 0

    def _write_out(self, *parts) -> None:
        assert self._fd is not None
        views = [p for p in parts if len(p)]
        while views:
            n = os.writev(self._fd, views)
            while views and n >= len(views[0]):
                n -= len(views.pop(0))
            if views:
                views[0] = views[0][n:]

    def _close_shard(self) -> None:
        assert self._fd is not None
        self._write(bytes(2 * BLOCK))  # the tar end-of-archive marker
        with memoryview(self._pending) as pending:
            self._write_out(pending[: self._fill])
        self._fill = 0
        os.close(self._fd)
        self._fd = None
        path = self.folder / self._name
        self._done.append(
            Shard(self._name, path, self._pos, self._sha256.hexdigest(), self._samples)
        )

    def close(self) -> list[Shard]:
        if self._fd is not None:
            self._close_shard()
        self._spool.close()
        return self._done
