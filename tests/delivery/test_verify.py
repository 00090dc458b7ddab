"""`outtake verify`: a lab's offline check passes on a real package and fails on any change."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid

import pyarrow.parquet as pq
from django.conf import settings

from outtake.provenance.verify_package import FolderPackage, S3Package, verify
from tests.delivery.packages import media_data_offset, media_of


def _root() -> bytes:
    return (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()


def _failed(folder) -> dict[str, str]:
    return {c.name: c.detail for c in verify(FolderPackage(folder), _root()) if not c.ok}


def _cli(location, *extra: str) -> subprocess.CompletedProcess:
    root = settings.OUTTAKE_PKI_DIR / "root.pem"
    return subprocess.run(
        [sys.executable, "-m", "outtake.cli", "verify", str(location), "--ca", str(root), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_cli_passes_on_a_built_package_and_fails_without_a_file(package):
    _, folder, *_ = package
    result = _cli(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    for row in ("manifest signature", "shards vs index", "C2PA", "XMP", "croissant", "audit head"):
        assert row in result.stdout
    assert "FAILED" not in result.stdout and "2 Trusted" in result.stdout
    (folder / "croissant.json").unlink()
    result = _cli(folder)
    assert result.returncode == 1 and "FAILED" in result.stdout
    assert "missing: croissant.json" in result.stdout


def _remove(folder) -> None:
    (folder / "DATASHEET.md").unlink()


def _add(folder) -> None:
    (folder / "shards" / "extra.txt").write_text("not from Outtake")


def _alter_media(folder) -> None:
    # A byte in the middle of the video's mdat box inside its shard: the coded frames, not
    # the moov index, metadata or padding.
    rows = pq.read_table(folder / "index.parquet").to_pylist()
    (row,) = [r for r in rows if r["kind"] == "video"]
    shard = folder / row["shard"]
    data = bytearray(shard.read_bytes())
    data[row["media_offset"] + media_data_offset(media_of(folder, row))] ^= 0xFF
    shard.write_bytes(bytes(data))


def _alter_and_rehash(folder) -> None:
    # Someone edits the datasheet and writes a matching MANIFEST.sha256: the signature catches it.
    (folder / "DATASHEET.md").write_text("# anything")
    sums = folder / "MANIFEST.sha256"
    lines = []
    for line in sums.read_text().splitlines():
        digest, path = line.split("  ", 1)
        if path == "DATASHEET.md":
            digest = hashlib.sha256(b"# anything").hexdigest()
        lines.append(f"{digest}  {path}")
    sums.write_text("\n".join(lines) + "\n")


def _garble(folder) -> None:
    (folder / "audit_head.json").write_text("{not json")


CHANGES = {
    "removed": (_remove, {"files"}, "missing: DATASHEET.md"),
    "added": (_add, {"files"}, "not in the manifest: shards/extra.txt"),
    "altered": (_alter_media, {"files", "sample hashes", "C2PA"}, "altered: shards/shard-000000"),
    "rehashed": (_alter_and_rehash, {"manifest signature"}, "signature invalid"),
    "garbled": (_garble, {"files", "audit head"}, "could not be read: JSONDecodeError"),
}


def test_verify_fails_on_each_change_and_on_another_root(package, tmp_path):
    from outtake.provenance.ca import ensure_root

    _, folder, *_ = package
    assert _failed(folder) == {}
    for name, (change, expected, detail) in CHANGES.items():
        copy = shutil.copytree(folder, tmp_path / name)
        change(copy)
        failed = _failed(copy)
        assert expected <= set(failed), (name, failed)
        assert any(detail in d for d in failed.values()), (name, failed)
    assert "Invalid assertion.bmffHash.mismatch" in _failed(tmp_path / "altered")["C2PA"]
    # Signed, but not by the installation the lab trusts.
    other = ensure_root(tmp_path / "other-pki").cert_path.read_bytes()
    failed = {c.name for c in verify(FolderPackage(folder), other) if not c.ok}
    assert {"manifest signature", "C2PA", "audit head"} <= failed


def test_verify_a_package_in_an_s3_bucket(package, rgw, monkeypatch):
    """A lab that had the package pushed to its bucket verifies it there, by range reads."""
    import boto3

    _, folder, *_ = package
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=rgw.endpoint)
    bucket = f"lab-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"datasets/v1/{path.relative_to(folder).as_posix()}")
    url = f"s3://{bucket}/datasets/v1"
    result = _cli(url, "--endpoint-url", rgw.endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 Trusted" in result.stdout
    s3.put_object(Bucket=bucket, Key="datasets/v1/DATASHEET.md", Body=b"# changed")
    failed = {c.name: c.detail for c in verify(S3Package(url, rgw.endpoint), _root()) if not c.ok}
    assert failed == {"files": "altered: DATASHEET.md"}
