"""Resumable multipart upload into someone else's S3-compatible bucket (pure: no Django).

obstore's put has no upload id a caller can keep, so a push cut off would start over; boto3's
low-level multipart calls let the caller record each part and continue later. Each part is
sent with Content-MD5 (the server refuses a corrupted part) and read from the blob store one
part at a time, so memory stays at one part whatever the file size.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MIB = 1 << 20
MIN_PART = 5 * MIB  # S3's smallest part but the last
MAX_PARTS = 10_000
SHA256_META = "sha256"

Read = Callable[[int, int], Iterable[bytes]]  # bytes [start, end) of the file


class UploadError(Exception):
    """The bucket refused or could not be reached; the message says why in plain words."""


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str = ""
    endpoint: str = ""  # blank: AWS S3
    region: str = "us-east-1"
    access_key_id: str = ""  # blank: the default credential chain (Outtake's own account)
    secret_access_key: str = ""
    session_token: str = ""

    def key(self, path: str) -> str:
        return f"{self.prefix.strip('/')}/{path}" if self.prefix.strip("/") else path


@dataclass
class Progress:
    """What is known of one object's multipart upload; saved after every part."""

    upload_id: str = ""
    parts: list[dict] = field(default_factory=list)  # [{"n": 1, "etag": "...", "size": ...}]


def client(target: Target):
    """A boto3 S3 client for the target. boto3 ≥ 1.36 adds CRC checksum trailers by default,
    which not every S3-compatible server accepts; parts carry Content-MD5 instead."""
    config = Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        s3={"addressing_style": "path"} if target.endpoint else {},
    )
    keys = {}
    if target.access_key_id:
        keys = {
            "aws_access_key_id": target.access_key_id,
            "aws_secret_access_key": target.secret_access_key,
            "aws_session_token": target.session_token or None,
        }
    return boto3.session.Session().client(
        "s3",
        endpoint_url=target.endpoint or None,
        region_name=target.region or "us-east-1",
        config=config,
        **keys,
    )


def part_size(size: int, minimum: int) -> int:
    """Parts of at least `minimum`, whole MiB, few enough for S3's 10,000-part limit."""
    need = -(-size // MAX_PARTS)
    return max(minimum, MIN_PART, -(-need // MIB) * MIB)


def describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        denied = "access denied: check the keys, the secret key or the bucket policy"
        hints = {
            "NoSuchBucket": "the bucket does not exist",
            "AccessDenied": denied,
            "403": denied,  # HEAD answers carry no body, so no code beyond the status
            "InvalidAccessKeyId": "the access key is not known to this server",
            "SignatureDoesNotMatch": "the secret key does not match the access key",
        }
        return f"{hints.get(code, err.get('Message') or code)} ({code or status})"
    return str(exc) or type(exc).__name__


def already_there(s3, target: Target, path: str, size: int, sha256: str) -> bool:
    """True when the object exists with the same size and SHA-256 (recorded as metadata)."""
    try:
        head = s3.head_object(Bucket=target.bucket, Key=target.key(path))
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise UploadError(describe(exc)) from exc
    except BotoCoreError as exc:
        raise UploadError(describe(exc)) from exc
    return head["ContentLength"] == size and head.get("Metadata", {}).get(SHA256_META) == sha256


def _stored_parts(s3, target: Target, key: str, upload_id: str) -> dict[int, dict] | None:
    """The parts the server holds for an upload; None if the upload is gone."""
    parts: dict[int, dict] = {}
    marker = 0
    while True:
        try:
            page = s3.list_parts(
                Bucket=target.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return None
            raise
        for p in page.get("Parts", []):
            parts[p["PartNumber"]] = {"etag": p["ETag"], "size": p["Size"]}
        if not page.get("IsTruncated"):
            return parts
        marker = page["NextPartNumberMarker"]


def upload(
    s3,
    target: Target,
    path: str,
    *,
    size: int,
    sha256: str,
    read: Read,
    progress: Progress,
    save: Callable[[Progress], None],
    min_part: int = 16 * MIB,
    on_part: Callable[[str, int, int], None] | None = None,
) -> int:
    """Upload one file, continuing `progress` where a cut-off run left it; return bytes sent.

    Parts already on the server with the recorded ETag and size are kept; the rest are sent,
    and `save(progress)` runs after each, so a crash loses at most the part in flight.
    """
    key = target.key(path)
    try:
        return _upload(s3, target, key, path, size, sha256, read, progress, save, min_part, on_part)
    except ClientError as exc:
        raise UploadError(f"{path}: {describe(exc)}") from exc
    except BotoCoreError as exc:
        raise UploadError(f"{path}: {describe(exc)}") from exc


def _upload(s3, target, key, path, size, sha256, read, progress, save, min_part, on_part) -> int:
    chunk = part_size(size, min_part)
    count = max(1, -(-size // chunk))
    done: dict[int, dict] = {}
    if progress.upload_id:
        stored = _stored_parts(s3, target, key, progress.upload_id)
        if stored is None:
            progress.upload_id, progress.parts = "", []
        else:
            done = {
                p["n"]: p
                for p in progress.parts
                if stored.get(p["n"]) == {"etag": p["etag"], "size": p["size"]}
            }
            progress.parts = sorted(done.values(), key=lambda p: p["n"])
    if not progress.upload_id:
        created = s3.create_multipart_upload(
            Bucket=target.bucket, Key=key, Metadata={SHA256_META: sha256}
        )
        progress.upload_id, progress.parts = created["UploadId"], []
        save(progress)
    sent = 0
    for n in range(1, count + 1):
        if n in done:
            continue
        start = (n - 1) * chunk
        data = b"".join(read(start, min(size, start + chunk)))
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        answer = s3.upload_part(
            Bucket=target.bucket,
            Key=key,
            UploadId=progress.upload_id,
            PartNumber=n,
            Body=data,
            ContentMD5=md5,
        )
        progress.parts.append({"n": n, "etag": answer["ETag"], "size": len(data)})
        save(progress)
        sent += len(data)
        if on_part is not None:
            on_part(path, n, len(data))
    s3.complete_multipart_upload(
        Bucket=target.bucket,
        Key=key,
        UploadId=progress.upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": p["n"], "ETag": p["etag"]}
                for p in sorted(progress.parts, key=lambda p: p["n"])
            ]
        },
    )
    if not already_there(s3, target, path, size, sha256):
        raise UploadError(f"{path}: the stored object does not match its size and SHA-256")
    return sent


def abort(s3, target: Target, path: str, upload_id: str) -> None:
    """Drop an unfinished upload's parts from the bucket (a push given up)."""
    try:
        s3.abort_multipart_upload(Bucket=target.bucket, Key=target.key(path), UploadId=upload_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise UploadError(f"{path}: {describe(exc)}") from exc
