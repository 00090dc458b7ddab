"""Verify a delivered package offline, as a lab would (pure Python: no Django, no network but S3).

The package is a folder or an S3 prefix. Every file is read once, front to back: a shard is
streamed in one request and, in that one pass, hashed, its tar headers listed and its samples
checked. Every check reports a row; any failed row means the package is not what Outtake
signed: MANIFEST.sha256 and its detached signature, the file list and hashes, the shards
against the Parquet index, each media file's C2PA state with Outtake's root as trust anchor,
its XMP against the license it names, the audit chain head, removals and croissant.json (which
mlcroissant validates and loads, checking the hashes of the files its record set reads).

Each signature must be by Outtake's certificate for its purpose (ca.is_own_certificate: issued
by the root itself under that purpose's name, so renewed ones pass too): media by the C2PA
certificate, MANIFEST.sha256 by the package certificate, the audit checkpoint by the checkpoint
certificate. A buyer's certificate, or one of Outtake's for another purpose, chains to the same
root but does not pass.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow.parquet as pq
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from outtake.core.terms import NOT_ALLOWED
from outtake.provenance.c2pa_sign import (
    C2PA_PURPOSE,
    LICENSE_LABEL,
    MIME,
    assertion,
    read_state,
    training_mining,
)
from outtake.provenance.c2pa_store import signer_certificate
from outtake.provenance.ca import is_own_certificate
from outtake.provenance.signing import CHECKPOINT_PURPOSE, PACKAGE_PURPOSE, verify_detached
from outtake.provenance.xmp import data_mining_value, find_xmp, model_release_status, read_rights

MANIFEST = "MANIFEST.sha256"
SIGNATURE = f"{MANIFEST}.sig"
INDEX = "index.parquet"
AUDIT_HEAD = "audit_head.json"
REMOVALS = "removals.json"
CROISSANT = "croissant.json"
ODRL = "license.odrl.json"
READ = 1 << 20
SHOWN = 3  # problems named per row; the rest are counted


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class PackageFiles(Protocol):
    """Where a package's files are: relative paths, each opened for one front-to-back read."""

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


class S3Package:
    """A package under s3://bucket/prefix (boto3: AWS_* variables, or an explicit endpoint)."""

    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        import boto3

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"not an s3://bucket/prefix address: {url}")
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url)
        self._keys: set[str] = set()
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            self._keys |= {obj["Key"][len(self.prefix) :] for obj in page.get("Contents", [])}

    def paths(self) -> set[str]:
        return set(self._keys)

    def open(self, path: str) -> BinaryIO:
        """The object's body in one streamed GET."""
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + path)["Body"]
        return body  # type: ignore[no-any-return]


def open_package(location: str, endpoint_url: str | None = None) -> PackageFiles:
    if location.startswith("s3://"):
        return S3Package(location, endpoint_url)
    return FolderPackage(Path(location))


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


class _Hashing(io.RawIOBase):
    """A front-to-back reader that hashes every byte read through it (a shard's one pass)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._sha = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._raw.read(len(b))
        b[: len(data)] = data
        self._sha.update(data)
        return len(data)

    def digest_to_end(self) -> str:
        """The whole file's SHA-256, reading what the tar reader left (end blocks, padding)."""
        while self.read(READ):
            pass
        return self._sha.hexdigest()


@dataclass(frozen=True)
class _License:
    """What the ODRL agreement says that every file's XMP must repeat."""

    permitted: set[str]  # use codes (its purpose constraints)
    licensor: str  # the assigner's name
    platform: str  # the assigner's uid: the installation's public URL


class _Verifier:
    def __init__(self, files: PackageFiles, root_pem: bytes) -> None:
        self.files, self.root_pem = files, root_pem
        self.present = files.paths()
        self.checks: list[Check] = []
        self.listed: dict[str, str] = {}
        self.shards = sorted(
            p for p in self.present if p.startswith("shards/") and p.endswith(".tar")
        )
        self.hash_problems: list[str] = []
        self.hashed: set[str] = set()  # the files whose hash was compared (a pass may stop early)
        self._read: dict[str, bytes] = {}

    def read(self, path: str) -> bytes:
        """A document's bytes, read once (documents are small; shards are streamed)."""
        if path not in self._read:
            with self.files.open(path) as fh:
                self._read[path] = fh.read()
        return self._read[path]

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def signature(self) -> bool:
        if MANIFEST not in self.present or SIGNATURE not in self.present:
            self.add("manifest signature", False, f"{MANIFEST} or {SIGNATURE} is missing")
            return False
        sums = self.read(MANIFEST)
        try:
            self.listed = parse_manifest(sums)
            sig = json.loads(self.read(SIGNATURE))
        except ValueError as exc:
            self.add("manifest signature", False, str(exc))
            return False
        ok, why = verify_detached(sums, sig, self.root_pem, PACKAGE_PURPOSE)
        detail = f"signed by Outtake's package certificate; {len(self.listed)} files"
        self.add("manifest signature", ok, why or detail)
        return ok

    def _hashed(self, path: str, digest: str) -> None:
        self.hashed.add(path)
        if path in self.listed and digest != self.listed[path]:
            self.hash_problems.append(f"altered: {path}")

    def documents(self) -> None:
        """Hash every file but the shards (hashed in their own pass)."""
        for path in sorted((set(self.listed) & self.present) - set(self.shards)):
            self._hashed(path, hashlib.sha256(self.read(path)).hexdigest())

    def file_hashes(self) -> None:
        problems = [f"missing: {p}" for p in sorted(set(self.listed) - self.present)]
        extra = self.present - set(self.listed) - {MANIFEST, SIGNATURE}
        problems += [f"not in the manifest: {p}" for p in sorted(extra)]
        problems += sorted(self.hash_problems)
        unchecked = (set(self.listed) & self.present) - self.hashed
        problems += [f"not checked: {p} (its pass stopped before it)" for p in sorted(unchecked)]
        self.add("files", not problems, _summary(problems, len(self.listed), "files match"))

    def index(self) -> list[dict[str, Any]] | None:
        if INDEX not in self.present:
            self.add("shards vs index", False, f"{INDEX} is missing")
            return None
        try:
            return pq.read_table(io.BytesIO(self.read(INDEX))).to_pylist()
        except Exception as exc:  # any unreadable Parquet
            self.add("shards vs index", False, f"{INDEX} unreadable: {exc}"[:200])
            return None

    def stream_shards(self, rows: list[dict] | None, license: _License | None) -> None:
        """One front-to-back pass over each shard: its hash, its members, its samples."""
        wanted: dict[tuple[str, str], tuple[dict, str]] = {}
        for row in rows or []:
            wanted[(row["shard"], row["media"])] = (row, "media")
            wanted[(row["shard"], row["json"])] = (row, "json")
        in_tars: set[tuple[str, str, int, int]] = set()
        tar_problems: list[str] = []
        samples = _Samples(self, license)
        for shard in self.shards:
            with self.files.open(shard) as raw:
                reader = _Hashing(raw)
                try:
                    with tarfile.open(fileobj=reader, mode="r|") as tar:
                        for member in tar:
                            if not member.isfile():
                                continue
                            in_tars.add((shard, member.name, member.offset_data, member.size))
                            if (shard, member.name) in wanted:
                                row, part = wanted[(shard, member.name)]
                                samples.add(row, part, tar.extractfile(member).read())
                except tarfile.TarError as exc:
                    tar_problems.append(f"{shard}: {exc}")
                self._hashed(shard, reader.digest_to_end())
        if rows is None:
            self.add("C2PA", False, "skipped: no readable index")
            self.add("XMP", False, "skipped: no readable index")
            return
        indexed = {
            (r["shard"], r[name], r[f"{name}_offset"], r[f"{name}_size"])
            for r in rows
            for name in ("media", "json")
        }
        problems = [
            f"missing shard: {s}"
            for s in sorted({r["shard"] for r in rows})
            if s not in self.present
        ]
        problems += tar_problems
        problems += [f"not in the index: {s}/{n}" for s, n, *_ in sorted(in_tars - indexed)]
        problems += [f"not in a shard: {s}/{n}" for s, n, *_ in sorted(indexed - in_tars)]
        self.add("shards vs index", not problems, _summary(problems, len(rows), "samples"))
        samples.report(rows)

    def license(self) -> _License | None:
        """The licensed uses, licensor and platform from the ODRL agreement."""
        if ODRL not in self.present:
            self.add("license", False, f"{ODRL} is missing")
            return None
        policy = json.loads(self.read(ODRL))
        assigner = policy.get("assigner", {})
        return _License(
            permitted={
                c["rightOperand"]
                for p in policy.get("permission", [])
                for c in p.get("constraint", [])
                if c.get("leftOperand") == "purpose"
            },
            licensor=assigner.get("vcard:fn", ""),
            platform=assigner.get("uid", "").rstrip("/"),
        )

    def audit_head(self) -> None:
        if AUDIT_HEAD not in self.present:
            self.add("audit head", False, f"{AUDIT_HEAD} is missing")
            return
        head = json.loads(self.read(AUDIT_HEAD))
        checkpoint = head.get("checkpoint")
        if not checkpoint:
            self.add("audit head", True, f"event {head['count']}, no signed checkpoint yet")
            return
        try:
            cert = x509.load_pem_x509_certificate(checkpoint["certificate"].encode())
            if not is_own_certificate(
                cert, x509.load_pem_x509_certificate(self.root_pem), CHECKPOINT_PURPOSE
            ):
                self.add(
                    "audit head",
                    False,
                    f"checkpoint signed by {cert.subject.rfc4514_string()}, "
                    f"not Outtake's {CHECKPOINT_PURPOSE} certificate",
                )
                return
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
            f"{checkpoint['count']} signed by Outtake's {CHECKPOINT_PURPOSE} certificate"
            if ok
            else "the checkpoint's fields differ from its signed statement",
        )

    def removals(self, rows: list[dict]) -> None:
        if REMOVALS not in self.present:
            return
        removed = set(json.loads(self.read(REMOVALS)).get("delete_sample_ids", []))
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
        data = self.read(CROISSANT)
        doc = json.loads(data)
        problems = [
            f"sha256 of {d['contentUrl']} differs from the manifest"
            for d in doc.get("distribution", [])
            if self.listed.get(d.get("contentUrl")) != d.get("sha256")
        ]
        problems += self._mlcroissant(doc, data)
        self.add("croissant", not problems, _summary(problems, 1, "valid Croissant 1.0, loaded"))

    def _mlcroissant(self, doc: dict[str, Any], data: bytes) -> list[str]:
        """mlcroissant validates the document and loads every record set, checking the SHA-256
        of each file they read (the index; shards are checked above, as no record set reads
        them), from a scratch copy so an S3 package loads the same way as a folder."""
        import mlcroissant as mlc

        ids = {d.get("@id"): d.get("contentUrl") for d in doc.get("distribution", [])}
        read = {
            ids.get(f.get("source", {}).get("fileObject", {}).get("@id"))
            for record_set in doc.get("recordSet", [])
            for f in record_set.get("field", [])
        }
        with tempfile.TemporaryDirectory(prefix="outtake-verify-") as tmp:
            folder = Path(tmp)
            (folder / CROISSANT).write_bytes(data)
            for path in sorted(read & self.present):
                target = (folder / path).resolve()
                if not target.is_relative_to(folder.resolve()):
                    return [f"mlcroissant: {path} points outside the package"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.read(path))
            try:
                dataset = mlc.Dataset(jsonld=str(folder / CROISSANT))
                for record_set in doc.get("recordSet", []):
                    for _ in dataset.records(record_set["@id"]):
                        pass
            except Exception as exc:  # mlcroissant raises many kinds; each is a failure
                while exc.__cause__ or exc.__context__:  # its own wrapper hides the reason
                    exc = exc.__cause__ or exc.__context__
                return [f"mlcroissant: {exc}"[:300]]
        return []


class _Samples:
    """Each sample's media and JSON as its shard streams by: their hashes against the index,
    the media's C2PA with Outtake's root as trust anchor, its XMP against the license."""

    def __init__(self, verifier: _Verifier, license: _License | None) -> None:
        self.root_pem, self.license = verifier.root_pem, license
        self.root = x509.load_pem_x509_certificate(verifier.root_pem)
        self.add_check = verifier.add
        self.parts: dict[str, dict[str, bytes]] = {}
        self.checked: set[str] = set()
        self.problems: list[str] = []
        self.c2pa_problems: list[str] = []
        self.xmp_problems: list[str] = []

    def add(self, row: dict, part: str, data: bytes) -> None:
        """One member of a sample; checked once both are in (they are neighbours in a shard)."""
        parts = self.parts.setdefault(row["key"], {})
        parts[part] = data
        if len(parts) < 2:
            return
        del self.parts[row["key"]]
        self.checked.add(row["key"])
        try:
            self._check(row, parts["media"], parts["json"])
        except Exception as exc:  # a damaged sample fails its row, not the whole pass
            self.problems.append(f"{row['key']}: could not be checked: {exc!r}"[:200])

    def _check(self, row: dict, media: bytes, meta: bytes) -> None:
        if hashlib.sha256(media).hexdigest() != row["media_sha256"]:
            self.problems.append(f"{row['media']}: media hash differs from the index")
        if hashlib.sha256(meta).hexdigest() != row["json_sha256"]:
            self.problems.append(f"{row['json']}: JSON hash differs from the index")
        try:
            sample = json.loads(meta)
        except ValueError:
            self.problems.append(f"{row['json']}: not JSON")
            return
        if sample["provenance"].get("delivered_sha256") != row["media_sha256"]:
            self.problems.append(f"{row['key']}: JSON names another media file")
        # The media is checked even when its hash is off: C2PA then says how.
        self.c2pa_problems += self._c2pa(row, media, sample["provenance"])
        self.xmp_problems += self._xmp(row, media, sample)

    def _c2pa(self, row: dict, media: bytes, prov: dict) -> list[str]:
        name = row["media"]
        mime = MIME.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")
        state, manifest, failures = read_state(media, mime, self.root_pem)
        granted = prov.get("granted_uses", {})
        lic = assertion(manifest, LICENSE_LABEL) or {}
        if state != "Trusted":
            return [f"{name}: {state} {' '.join(failures)}".strip()]
        # Trusted says only that the signer chains to the root, as buyers' certificates do.
        signer = signer_certificate(media, manifest.get("label", ""))
        if signer is None:
            return [f"{name}: its C2PA signing certificate could not be read"]
        if not is_own_certificate(signer, self.root, C2PA_PURPOSE):
            who = signer.subject.rfc4514_string()
            return [f"{name}: signed by {who}, not Outtake's {C2PA_PURPOSE} certificate"]
        if (lic.get("license"), lic.get("clip")) != (prov["license_id"], prov["clip_id"]):
            return [f"{name}: license assertion names another clip"]
        if lic.get("release_ids", []) != prov.get("release_ids", []):
            return [f"{name}: release ids differ from the sample JSON"]
        if granted and assertion(manifest, "cawg.training-mining") != training_mining(granted):
            return [f"{name}: training-mining differs from the license"]
        return []

    def _xmp(self, row: dict, media: bytes, sample: dict) -> list[str]:
        name, prov = row["media"], sample["provenance"]
        packet = find_xmp(media)
        if packet is None:
            return [f"{name}: no XMP"]
        xmp = read_rights(packet)
        granted = prov.get("granted_uses", {})
        release_ids = prov.get("release_ids", [])
        status = model_release_status(sample["labels"]["people"]["release_status"], release_ids)
        problems = []
        if granted and xmp["DataMining"] != data_mining_value(granted):
            problems.append(f"{name}: DataMining {xmp['DataMining'] or 'missing'}")
        if prov["license_id"] not in xmp["UsageTerms"]:
            problems.append(f"{name}: UsageTerms do not name the license")
        if xmp["ModelReleaseID"] != release_ids:
            problems.append(f"{name}: ModelReleaseID differs from the release ids")
        if xmp["ModelReleaseStatus"] != status:
            problems.append(
                f"{name}: ModelReleaseStatus {xmp['ModelReleaseStatus'] or 'missing'}, "
                f"the sample's people say {status}"
            )
        if xmp["creator"] != prov["creator"]:
            problems.append(f"{name}: dc:creator is not the creator's pseudonym")
        if self.license is None:
            return problems
        if xmp["LicensorName"] != self.license.licensor:
            problems.append(f"{name}: LicensorName is not the license's licensor")
        # The license's page at the installation that granted it (the ODRL assigner).
        if xmp["WebStatement"] != f"{self.license.platform}/licenses/{prov['license_id']}/":
            problems.append(f"{name}: WebStatement is not the license's page")
        uses = {code for code, s in granted.items() if s["state"] != NOT_ALLOWED}
        if not uses <= self.license.permitted:
            beyond = sorted(uses - self.license.permitted)
            problems.append(f"{name}: grants {beyond} beyond the ODRL")
        return problems

    def report(self, rows: list[dict]) -> None:
        problems = [
            f"{r['key']}: media or JSON not read from {r['shard']}"
            for r in rows
            if r["key"] not in self.checked
        ]
        problems += self.problems
        checked = len(self.checked)
        self.add_check(
            "sample hashes", not problems, _summary(problems, len(rows), "samples match")
        )
        self.add_check(
            "C2PA", not self.c2pa_problems, _summary(self.c2pa_problems, checked, "Trusted")
        )
        self.add_check(
            "XMP", not self.xmp_problems, _summary(self.xmp_problems, checked, "match the license")
        )


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
    step("audit head", v.audit_head)
    step("files", v.documents)
    rows = step("shards vs index", v.index)
    license = step("license", v.license)
    step("shards vs index", v.stream_shards, rows, license)
    step("files", v.file_hashes)
    if rows is not None:
        step("removals", v.removals, rows)
    step("croissant", v.croissant)
    return v.checks
