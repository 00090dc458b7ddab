"""Packaging in worker processes: each writes its own shards; the parent numbers them in key
order and sorts the index, so the package reads the same however the work was shared."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from outtake.delivery.bench import _specs
from outtake.delivery.package import write_samples
from outtake.provenance.c2pa_sign import Signer, read_state

VIDEO = Path(__file__).parent.parent / "fixtures" / "video" / "bigbuckbunny.mp4"


def test_workers_shards_are_numbered_in_key_order_and_every_member_is_where_the_index_says(
    tmp_path,
):
    specs = _specs([VIDEO] * 5)[::-1]  # handed out in reverse: the index still comes sorted
    signer = Signer(tmp_path / "pki")
    # One sample per shard (a shard is full once it holds anything), shared by two workers.
    packaged = write_samples(specs, tmp_path / "out", 1, signer, 2)

    keys = [f"bench-{i:04d}" for i in range(5)]
    assert [r["key"] for r in packaged.rows] == keys
    assert [s.name for s in packaged.shards] == [f"shard-{i:06d}.tar" for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "out" / "shards").iterdir()) == [
        s.name for s in packaged.shards
    ]
    assert packaged.worker_cpu_s > 0
    root = (tmp_path / "pki" / "root.pem").read_bytes()
    for row, shard in zip(packaged.rows, packaged.shards, strict=True):
        assert row["shard"] == f"shards/{shard.name}"
        raw = shard.path.read_bytes()
        assert shard.sha256 == hashlib.sha256(raw).hexdigest() and shard.size == len(raw)
        media = raw[row["media_offset"] : row["media_offset"] + row["media_size"]]
        assert hashlib.sha256(media).hexdigest() == row["media_sha256"]
        meta = json.loads(raw[row["json_offset"] : row["json_offset"] + row["json_size"]])
        assert meta["provenance"]["delivered_sha256"] == row["media_sha256"]
        with tarfile.open(shard.path) as tar:
            assert tar.getnames() == [f"{row['key']}.mp4", f"{row['key']}.json"]
    assert read_state(media, "video/mp4", root)[0] == "Trusted"


def test_a_sample_that_fails_in_a_worker_fails_the_package_and_stops_the_others(tmp_path):
    specs = _specs([tmp_path / "gone.mp4", *[VIDEO] * 8])
    with pytest.raises(FileNotFoundError):
        write_samples(specs, tmp_path / "out", 1 << 30, Signer(tmp_path / "pki"), 2)
    written = []
    for shard in (tmp_path / "out" / "shards").iterdir():
        with tarfile.open(shard) as tar:
            written += [name for name in tar.getnames() if name.endswith(".mp4")]
    assert len(written) < 8  # the other worker stopped after the sample it was writing
