"""`outtake verify`: a lab's offline check passes on a real package and fails on any change."""

from __future__ import annotations

import hashlib
import io
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


def _edit_xmp(old: bytes, new: bytes):
    """Change every media file's XMP in place, keeping sizes (so only what it says differs)."""
    assert len(old) == len(new)

    def change(folder) -> None:
        for shard in (folder / "shards").glob("*.tar"):
            data = shard.read_bytes()
            assert old in data
            shard.write_bytes(data.replace(old, new))

    return change


def _edit_index(folder) -> None:
    # The index rewritten as a readable Parquet file with other keys.
    table = pq.read_table(folder / "index.parquet")
    keys = [f"edited-{k}" for k in table["key"].to_pylist()]
    pq.write_table(table.set_column(0, "key", [keys]), folder / "index.parquet")


CHANGES = {
    "removed": (_remove, {"files"}, "missing: DATASHEET.md"),
    "added": (_add, {"files"}, "not in the manifest: shards/extra.txt"),
    # The video lands in either shard, by the order of its random sample id.
    "altered": (_alter_media, {"files", "sample hashes", "C2PA"}, "altered: shards/shard-"),
    "rehashed": (_alter_and_rehash, {"manifest signature"}, "signature invalid"),
    "garbled": (_garble, {"files", "audit head"}, "could not be read: JSONDecodeError"),
    "licensor": (
        _edit_xmp(b"LicensorName>Outtake<", b"LicensorName>Outtakf<"),
        {"XMP"},
        "LicensorName is not the license's licensor",
    ),
    "web statement": (
        _edit_xmp(b"/licenses/", b"/licences/"),
        {"XMP"},
        "WebStatement is not the license's page",
    ),
    "release status": (
        _edit_xmp(b"vocab/MR-NAP<", b"vocab/MR-NON<"),
        {"XMP"},
        "ModelReleaseStatus MR-NON, the sample's people say MR-NAP",
    ),
    "edited index": (
        _edit_index,
        {"files", "croissant"},
        "is not identical with the reference in the Croissant JSON-LD",
    ),
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
    # mlcroissant's own load checks the index's hash.
    assert "index.parquet" in _failed(tmp_path / "edited index")["croissant"]
    # Signed, but not by the installation the lab trusts.
    other = ensure_root(tmp_path / "other-pki").cert_path.read_bytes()
    failed = {c.name for c in verify(FolderPackage(folder), other) if not c.ok}
    assert {"manifest signature", "C2PA", "audit head"} <= failed


class _Counted(FolderPackage):
    """A folder package that counts how often each file is opened and how much is read,
    and refuses to seek (as a streamed S3 object cannot)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.opened: dict[str, int] = {}
        self.bytes: dict[str, int] = {}

    def open(self, path: str):
        self.opened[path] = self.opened.get(path, 0) + 1
        return _Stream(super().open(path), self.bytes, path)


class _Stream(io.RawIOBase):
    def __init__(self, fh, counts: dict[str, int], path: str) -> None:
        self._fh, self._counts, self._path = fh, counts, path

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._fh.readinto(b)
        self._counts[self._path] = self._counts.get(self._path, 0) + n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def test_verify_reads_every_file_once_front_to_back(package):
    _, folder, *_ = package
    files = _Counted(folder)
    assert all(c.ok for c in verify(files, _root()))
    sizes = {
        p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()
    }
    assert files.opened == dict.fromkeys(sizes, 1)
    assert files.bytes == sizes


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


class _ShardsUnreadable(FolderPackage):
    """A package whose shards cannot be read (as an S3 read error would)."""

    def open(self, path: str):
        if path.startswith("shards/"):
            raise OSError(f"read error: {path}")
        return super().open(path)


def test_files_whose_hash_was_never_compared_are_not_reported_as_matching(package):
    _, folder, *_ = package
    checks = {c.name: c for c in verify(_ShardsUnreadable(folder), _root())}
    assert not checks["shards vs index"].ok and "read error" in checks["shards vs index"].detail
    files = checks["files"]
    assert not files.ok
    shards = sorted(p.relative_to(folder).as_posix() for p in (folder / "shards").iterdir())
    assert files.detail.startswith(f"not checked: {shards[0]} ")
    assert "match" not in files.detail
