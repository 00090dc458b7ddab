"""Shards written in place: read back with the standard tarfile module and checked by hash."""

from __future__ import annotations

import hashlib
import os
import tarfile

from outtake.provenance.shards import ShardWriter


def _in_pieces(data: bytes, piece: int = 8192):
    def write(window) -> None:
        for i in range(0, len(data), piece):
            window.write(data[i : i + piece])

    return write


def _patched(data: bytes):
    """A writer that goes back, as a signer patching a placeholder would."""

    def write(window) -> None:
        window.write(b"\0" * 16 + data[16:])
        window.seek(0)
        window.write(data[:16])
        window.seek(0, 2)

    return write


def test_members_read_back_with_their_hashes(tmp_path):
    first, second, third = os.urandom(100_003), os.urandom(70_001), b'{"key": 1}'
    writer = ShardWriter(tmp_path, max_bytes=150_000)
    writer.start_sample()
    a = writer.add("a.mp4", _in_pieces(first))
    b = writer.add_bytes("a.json", third)
    writer.start_sample()  # the shard is not full yet: same shard
    c = writer.add("b.mp4", _patched(second))
    writer.start_sample()  # now it is: a new shard
    d = writer.add("c.mp4", _in_pieces(first, 1000))
    shards = writer.close()

    assert [s.name for s in shards] == ["shard-000000.tar", "shard-000001.tar"]
    assert [s.samples for s in shards] == [2, 1]
    expected = {"a.mp4": first, "a.json": third, "b.mp4": second, "c.mp4": first}
    for member in (a, b, c, d):
        data = expected[member.name]
        assert member.sha256 == hashlib.sha256(data).hexdigest()
        raw = (tmp_path / member.shard).read_bytes()
        assert raw[member.offset : member.offset + member.size] == data
    for shard in shards:
        assert shard.sha256 == hashlib.sha256(shard.path.read_bytes()).hexdigest()
        assert shard.size == shard.path.stat().st_size
        with tarfile.open(shard.path) as tar:
            for info in tar.getmembers():
                assert tar.extractfile(info).read() == expected[info.name]
