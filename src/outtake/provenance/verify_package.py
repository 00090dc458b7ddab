"""Verify a delivered package offline, as a lab would (pure Python: no Django, no network but S3).

The package is a folder or an S3 prefix. Every check reports a row; any failed row means the
package is not what Outtake signed: MANIFEST.sha256 and its detached signature, the file list
and hashes, the shards against the Parquet index, each media file's C2PA state with Outtake's
root as trust anchor, its XMP against the license it names, the audit chain head, removals and
croissant.json.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow.parquet as pq
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from outtake.core.terms import NOT_ALLOWED
from outtake.provenance.c2pa_sign import LICENSE_LABEL, MIME, assertion, read_state, training_mining
from outtake.provenance.signing import verify_detached
from outtake.provenance.xmp import data_mining_value, find_xmp, read_rights

MANIFEST = "MANIFEST.sha256"
SIGNATURE = f"{MANIFEST}.sig"
INDEX = "index.parquet"
AUDIT_HEAD = "audit_head.json"
REMOVALS = "removals.json"
CROISSANT = "croissant.json"
ODRL = "license.odrl.json"
READ = 1 << 22
SHOWN = 3  # problems named per row; the rest are counted


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class PackageFiles(Protocol):
    """Where a package's files are: relative paths, each opened as a seekable binary file."""

    def paths(self) -> set[str]: ...

    def open(self, path: str) -> BinaryIO: ...


class FolderPackage:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ValueError(f"{root} is not a folder")
        self.root = root

    def paths(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}

    def open(self, path: str) -> BinaryIO:
        return open(self.root / path, "rb")


class _S3Object(io.RawIOBase):
    """An S3 object read by HTTP range requests, so a shard is never downloaded whole."""

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = {0: 0, 1: self._pos, 2: self._size}[whence] + offset
        return self._pos

    def readinto(self, b) -> int:
        end = min(self._pos + len(b), self._size)
        if end <= self._pos:
            return 0
        body = self._client.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end - 1}"
        )["Body"].read()
        b[: len(body)] = body
        self._pos += len(body)
        return len(body)


class S3Package:
    """A package under s3://bucket/prefix (boto3: AWS_* variables, or an explicit endpoint)."""

    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        import boto3

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"not an s3://bucket/prefix address: {url}")
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url)
        self._sizes: dict[str, int] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                self._sizes[obj["Key"][len(self.prefix) :]] = obj["Size"]

    def paths(self) -> set[str]:
        return set(self._sizes)

    def open(self, path: str) -> BinaryIO:
        raw = _S3Object(self.client, self.bucket, self.prefix + path, self._sizes[path])
        return io.BufferedReader(raw, buffer_size=READ)  # type: ignore[return-value]


def open_package(location: str, endpoint_url: str | None = None) -> PackageFiles:
    if location.startswith("s3://"):
        return S3Package(location, endpoint_url)
    return FolderPackage(Path(location))


def _sha256(fh: BinaryIO) -> str:
    h = hashlib.sha256()
    while chunk := fh.read(READ):
        h.update(chunk)
    return h.hexdigest()


def _read(files: PackageFiles, path: str) -> bytes:
    with files.open(path) as fh:
        return fh.read()


def _summary(problems: list[str], total: int, what: str) -> str:
    if not problems:
        return f"{total} {what}"
    more = f" (+{len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
    return "; ".join(problems[:SHOWN]) + more


def parse_manifest(data: bytes) -> dict[str, str]:
    """path → sha256 from `sha256sum`-style lines."""
    listed = {}
    for line in data.decode().splitlines():
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ValueError(f"not a sha256sum line: {line[:80]!r}")
        listed[path] = digest
    return listed


class _Verifier:
    def __init__(self, files: PackageFiles, root_pem: bytes) -> None:
        self.files, self.root_pem = files, root_pem
        self.present = files.paths()
        self.checks: list[Check] = []
        self.listed: dict[str, str] = {}

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def signature(self) -> bool:
        if MANIFEST not in self.present or SIGNATURE not in self.present:
            self.add("manifest signature", False, f"{MANIFEST} or {SIGNATURE} is missing")
            return False
        sums = _read(self.files, MANIFEST)
        try:
            self.listed = parse_manifest(sums)
            sig = json.loads(_read(self.files, SIGNATURE))
        except ValueError as exc:
            self.add("manifest signature", False, str(exc))
            return False
        ok, why = verify_detached(sums, sig, self.root_pem)
        self.add("manifest signature", ok, why or f"signed by Outtake; {len(self.listed)} files")
        return ok

    def file_hashes(self) -> None:
        problems = [f"missing: {p}" for p in sorted(set(self.listed) - self.present)]
        extra = self.present - set(self.listed) - {MANIFEST, SIGNATURE}
        problems += [f"not in the manifest: {p}" for p in sorted(extra)]
        for path in sorted(set(self.listed) & self.present):
            with self.files.open(path) as fh:
                if _sha256(fh) != self.listed[path]:
                    problems.append(f"altered: {path}")
        self.add("files", not problems, _summary(problems, len(self.listed), "files match"))

    def index(self) -> list[dict[str, Any]] | None:
        if INDEX not in self.present:
            self.add("shards vs index", False, f"{INDEX} is missing")
            return None
        try:
            with self.files.open(INDEX) as fh:
                rows = pq.read_table(fh).to_pylist()
        except Exception as exc:  # any unreadable Parquet
            self.add("shards vs index", False, f"{INDEX} unreadable: {exc}"[:200])
            return None
        indexed = {
            (r["shard"], r[name], r[f"{name}_offset"], r[f"{name}_size"])
            for r in rows
            for name in ("media", "json")
        }
        in_tars: set[tuple[str, str, int, int]] = set()
        problems = []
        shards = sorted(p for p in self.present if p.startswith("shards/") and p.endswith(".tar"))
        for shard in sorted({*shards, *(r["shard"] for r in rows)}):
            if shard not in self.present:
                problems.append(f"missing shard: {shard}")
                continue
            try:
                with self.files.open(shard) as fh, tarfile.open(fileobj=fh, mode="r:") as tar:
                    in_tars |= {(shard, m.name, m.offset_data, m.size) for m in tar if m.isfile()}
            except tarfile.TarError as exc:
                problems.append(f"{shard}: {exc}")
        problems += [f"not in the index: {s}/{n}" for s, n, *_ in sorted(in_tars - indexed)]
        problems += [f"not in a shard: {s}/{n}" for s, n, *_ in sorted(indexed - in_tars)]
        self.add("shards vs index", not problems, _summary(problems, len(rows), "samples"))
        return rows

    def _member(self, row: dict, name: str) -> bytes:
        with self.files.open(row["shard"]) as fh:
            fh.seek(row[f"{name}_offset"])
            return fh.read(row[f"{name}_size"])

    def _samples(self, rows: list[dict]) -> Iterator[tuple[dict, bytes, dict]]:
        """(row, media bytes, sample JSON) of every sample, checking their hashes."""
        problems = []
        for row in rows:
            if row["shard"] not in self.present:  # only the package's own files are read
                problems.append(f"{row['key']}: no shard {row['shard']}")
                continue
            try:
                media, meta = self._member(row, "media"), self._member(row, "json")
            except (KeyError, OSError) as exc:
                problems.append(f"{row['key']}: {exc}")
                continue
            if hashlib.sha256(media).hexdigest() != row["media_sha256"]:
                problems.append(f"{row['media']}: media hash differs from the index")
            if hashlib.sha256(meta).hexdigest() != row["json_sha256"]:
                problems.append(f"{row['json']}: JSON hash differs from the index")
            try:
                sample = json.loads(meta)
            except ValueError:
                problems.append(f"{row['json']}: not JSON")
                continue
            if sample["provenance"].get("delivered_sha256") != row["media_sha256"]:
                problems.append(f"{row['key']}: JSON names another media file")
            # The media is checked even when its hash is off: C2PA then says how.
            yield row, media, sample
        self.add("sample hashes", not problems, _summary(problems, len(rows), "samples match"))

    def media(self, rows: list[dict], permitted: set[str] | None) -> None:
        c2pa_problems, xmp_problems, checked = [], [], 0
        for row, media, sample in self._samples(rows):
            checked += 1
            prov = sample["provenance"]
            mime = MIME.get("." + row["media"].rsplit(".", 1)[-1], "application/octet-stream")
            state, manifest, failures = read_state(media, mime, self.root_pem)
            granted = prov.get("granted_uses", {})
            lic = assertion(manifest, LICENSE_LABEL) or {}
            if state != "Trusted":
                c2pa_problems.append(f"{row['media']}: {state} {' '.join(failures)}".strip())
            elif (lic.get("license"), lic.get("clip")) != (prov["license_id"], prov["clip_id"]):
                c2pa_problems.append(f"{row['media']}: license assertion names another clip")
            elif lic.get("release_ids", []) != prov.get("release_ids", []):
                c2pa_problems.append(f"{row['media']}: release ids differ from the sample JSON")
            elif granted and assertion(manifest, "cawg.training-mining") != training_mining(
                granted
            ):
                c2pa_problems.append(f"{row['media']}: training-mining differs from the license")
            xmp_problems += self._xmp(row, media, prov, granted, permitted)
        self.add("C2PA", not c2pa_problems, _summary(c2pa_problems, checked, "Trusted"))
        self.add("XMP", not xmp_problems, _summary(xmp_problems, checked, "match the license"))

    def _xmp(self, row, media: bytes, prov: dict, granted: dict, permitted) -> list[str]:
        packet = find_xmp(media)
        if packet is None:
            return [f"{row['media']}: no XMP"]
        xmp = read_rights(packet)
        problems = []
        if granted and xmp["DataMining"] != data_mining_value(granted):
            problems.append(f"{row['media']}: DataMining {xmp['DataMining'] or 'missing'}")
        if prov["license_id"] not in xmp["UsageTerms"]:
            problems.append(f"{row['media']}: UsageTerms do not name the license")
        if xmp["ModelReleaseID"] != prov.get("release_ids", []):
            problems.append(f"{row['media']}: ModelReleaseID differs from the release ids")
        if xmp["creator"] != prov["creator"]:
            problems.append(f"{row['media']}: dc:creator is not the creator's pseudonym")
        uses = {code for code, s in granted.items() if s["state"] != NOT_ALLOWED}
        if permitted is not None and not uses <= permitted:
            problems.append(f"{row['media']}: grants {sorted(uses - permitted)} beyond the ODRL")
        return problems

    def permitted_uses(self) -> set[str] | None:
        """The use codes the ODRL agreement permits (its purpose constraints)."""
        if ODRL not in self.present:
            self.add("license", False, f"{ODRL} is missing")
            return None
        policy = json.loads(_read(self.files, ODRL))
        return {
            c["rightOperand"]
            for p in policy.get("permission", [])
            for c in p.get("constraint", [])
            if c.get("leftOperand") == "purpose"
        }

    def audit_head(self) -> None:
        if AUDIT_HEAD not in self.present:
            self.add("audit head", False, f"{AUDIT_HEAD} is missing")
            return
        head = json.loads(_read(self.files, AUDIT_HEAD))
        checkpoint = head.get("checkpoint")
        if not checkpoint:
            self.add("audit head", True, f"event {head['count']}, no signed checkpoint yet")
            return
        try:
            cert = x509.load_pem_x509_certificate(checkpoint["certificate"].encode())
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(self.root_pem))
            statement = checkpoint["statement"]
            cert.public_key().verify(
                base64.b64decode(checkpoint["signature"]),
                statement.encode(),
                ec.ECDSA(hashes.SHA256()),
            )
            stated = json.loads(statement)
        except (InvalidSignature, ValueError, KeyError, TypeError) as exc:
            self.add("audit head", False, f"checkpoint signature invalid: {exc!r}"[:200])
            return
        ok = (stated["count"], stated["head"]) == (checkpoint["count"], checkpoint["head"])
        self.add(
            "audit head",
            ok and head["count"] >= checkpoint["count"],
            f"event {head['count']} {head['head'][:16]}…; checkpoint of event "
            f"{checkpoint['count']} signed by Outtake"
            if ok
            else "the checkpoint's fields differ from its signed statement",
        )

    def removals(self, rows: list[dict]) -> None:
        if REMOVALS not in self.present:
            return
        removed = set(json.loads(_read(self.files, REMOVALS)).get("delete_sample_ids", []))
        still = sorted(removed & {r["key"] for r in rows})
        self.add(
            "removals",
            not still,
            f"still delivered: {', '.join(still)}" if still else f"{len(removed)} to delete",
        )

    def croissant(self) -> None:
        if CROISSANT not in self.present:
            self.add("croissant", False, f"{CROISSANT} is missing")
            return
        import mlcroissant as mlc

        doc = json.loads(_read(self.files, CROISSANT))
        problems = [
            f"sha256 of {d['contentUrl']} differs from the manifest"
            for d in doc.get("distribution", [])
            if self.listed.get(d.get("contentUrl")) != d.get("sha256")
        ]
        try:
            mlc.Dataset(jsonld=doc)
        except mlc.ValidationError as exc:
            problems.append(f"mlcroissant: {exc}"[:300])
        self.add("croissant", not problems, _summary(problems, 1, "valid Croissant 1.0"))


def verify(files: PackageFiles, root_pem: bytes) -> list[Check]:
    """Run every check; the package is sound when all are ok. A file too broken to read (bad
    JSON, missing columns) fails its check with the reason instead of stopping the others."""
    v = _Verifier(files, root_pem)

    def step(name: str, check, *args):
        try:
            return check(*args)
        except Exception as exc:  # whatever a damaged file raises
            v.add(name, False, f"could not be read: {exc.__class__.__name__}: {exc}"[:300])
            return None

    step("manifest signature", v.signature)
    step("files", v.file_hashes)
    step("audit head", v.audit_head)
    rows = step("shards vs index", v.index)
    if rows is None:
        v.add("C2PA", False, "skipped: no readable index")
        v.add("XMP", False, "skipped: no readable index")
    else:
        step("C2PA", v.media, rows, step("license", v.permitted_uses))
        step("removals", v.removals, rows)
    step("croissant", v.croissant)
    return v.checks
