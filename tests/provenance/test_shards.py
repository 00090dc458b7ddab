"""Shards written front to back: read back with the standard tarfile module and checked by hash."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest

from outtake.provenance import shards
from outtake.provenance.shards import ShardWriter
from outtake.provenance.spool import Spool


def _in_pieces(data: bytes, piece: int = 8192):
    def write(file) -> None:
        for i in range(0, len(data), piece):
            file.write(data[i : i + piece])

    return write


def _patched(data: bytes):
    """A writer that goes back, as a signer patching a placeholder would."""

    def write(file) -> None:
        file.write(b"\0" * 16 + data[16:])
        file.seek(0)
        file.write(data[:16])
        file.seek(0, 2)

    return write


def test_members_read_back_with_their_hashes(tmp_path, monkeypatch):
    # Small aligned writes, so members cross several of them.
    monkeypatch.setattr(shards, "WRITE", 4096)
    first, second, third = os.urandom(100_003), os.urandom(70_001), b'{"key": 1}'
    writer = ShardWriter(tmp_path, max_bytes=150_000)
    writer._spool = Spool(max_bytes=80_000)  # the 100 kB members wait on disk, the others not
    writer.start_sample()
    a = writer.add("a.mp4", _in_pieces(first))
    b = writer.add_bytes("a.json", third)
    writer.start_sample()  # the shard is not full yet: same shard
    c = writer.add("b.mp4", _patched(second))
    writer.start_sample()  # now it is: a new shard
    d = writer.add("c.mp4", _in_pieces(first, 1000))
    written = writer.close()

    assert [s.name for s in written] == ["shard-000000.tar", "shard-000001.tar"]
    assert [s.samples for s in written] == [2, 1]
    expected = {"a.mp4": first, "a.json": third, "b.mp4": second, "c.mp4": first}
    for member in (a, b, c, d):
        data = expected[member.name]
        assert member.sha256 == hashlib.sha256(data).hexdigest()
        raw = (tmp_path / member.shard).read_bytes()
        assert raw[member.offset : member.offset + member.size] == data
    for shard in written:
        assert shard.sha256 == hashlib.sha256(shard.path.read_bytes()).hexdigest()
        assert shard.size == shard.path.stat().st_size
        with tarfile.open(shard.path) as tar:
            for info in tar.getmembers():
                assert tar.extractfile(info).read() == expected[info.name]


def test_a_failed_member_leaves_the_shard_as_it_was(tmp_path):
    writer = ShardWriter(tmp_path, max_bytes=1 << 20)
    writer.start_sample()
    writer.add_bytes("a.json", b"{}")

    def broken(file) -> None:
        file.write(b"half a file")
        raise RuntimeError("signer failed")

    with pytest.raises(RuntimeError, match="signer failed"):
        writer.add("b.mp4", broken)
    (shard,) = writer.close()
    with tarfile.open(shard.path) as tar:
        assert tar.getnames() == ["a.json"]
    assert shard.sha256 == hashlib.sha256(shard.path.read_bytes()).hexdigest()


def test_spool_is_reused_and_spills_past_its_size(tmp_path):
    spool = Spool(max_bytes=1000)
    spool.write(b"x" * 600)
    spool.reset()  # the next clip: shorter, and nothing of the last one shows
    spool.write(b"abc")
    spool.seek(6)
    spool.write(b"def")  # past the end: the gap reads as zeros
    assert spool.size == 9
    assert b"".join(bytes(c) for c in spool.chunks()) == b"abc\0\0\0def"
    spool.seek(0)
    assert spool.read() == b"abc\0\0\0def"

    spool.seek(0, 2)
    spool.write(b"y" * 2000)  # beyond max_bytes: moves to a temporary file, content kept
    assert spool.size == 2009 and spool.tell() == 2009
    spool.seek(3)
    assert spool.size == 2009  # asking the size does not move the position
    spool.write(b"123")
    assert b"".join(bytes(c) for c in spool.chunks()) == b"abc123def" + b"y" * 2000
    spool.reset()
    spool.write(b"small again")
    assert b"".join(bytes(c) for c in spool.chunks()) == b"small again"
    spool.close()
