"""A tus 1.0.0 resumable-upload server as a plain ASGI app.

Extensions: creation, creation-with-upload, termination, expiration, checksum (sha1, sha256).
Mount it with ``Mount("/uploads", app=TusApp(...))``; clients create uploads with
``POST /uploads/``.

State lives in one directory, one upload per random id:
  ``<id>.json``  the upload's info (written atomically: temp file + os.replace)
  ``<id>.bin``   the bytes received so far; its size *is* the upload offset (as in tusd's
                 filestore), so bytes written before a disconnect or a crash always count
  ``<id>.lock``  flock'd while a request changes the upload, so several server processes can
                 share the directory and two PATCHes never interleave

Completion: when the offset reaches the length, ``on_complete(upload)`` is awaited under the
upload's lock and, once it returns, the upload is marked complete and ``data_path`` belongs to
the callback (it may move the file away). If the callback raises, the client gets a 500, the
bytes stay, and the upload waits with offset == length but ``complete`` False. The callback is
tried again by an empty PATCH at the final offset (``outtake upload`` sends one whenever it
finds an upload in that state) or by ``TusApp.retry_completion``. The callback can therefore
run more than once for one upload (also after a crash between it returning and the info being
saved): make it idempotent on ``upload.id``, and do not raise after moving the file away.
"""

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from email.utils import formatdate
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from outtake.uploads.filenames import safe_filename

logger = logging.getLogger("outtake.uploads")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = ("sha1", "sha256")  # tuspy sends sha1 when asked for checksums
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
FILENAME_KEYS = ("filename", "name")  # Uppy sends the file name under both
# A client that sends nothing for this long releases the upload's lock, so its own retry from
# a new connection is not refused as busy until the kernel notices the dead one.
IDLE_TIMEOUT_S = 30.0

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_NUMBER = re.compile(r"[0-9]{1,19}")
_METADATA_KEY = re.compile(r"[!-+\--~]+")  # printable ASCII without space and comma
_MAX_METADATA_CHARS = 8192
_WRITE_BLOCK = 1 << 20  # bytes gathered before one disk write; bounds memory per request

Authenticate = Callable[[str], Awaitable[str | None]]
"""Bearer token -> owner id, or None to refuse; PermissionError(reason): a 403 with the reason."""


@dataclass
class Upload:
    id: str
    length: int
    offset: int
    metadata: dict[str, str]
    owner: str
    created_at: float
    data_path: Path
    complete: bool
    updated_at: float = 0.0  # last byte received (or completion); expiry counts from here


OnComplete = Callable[[Upload], Awaitable[None]]
"""Called when all bytes arrived; takes ownership of ``upload.data_path``."""


class UnknownUpload(LookupError):
    """No upload with that id (or it belongs to someone else)."""


class UploadBusy(RuntimeError):
    """Another request holds the upload's lock."""


class _Reply(Exception):
    """Answers the current request early with a status and a short reason."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


class TusApp:
    """ASGI app serving tus uploads stored in `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        authenticate: Authenticate,
        on_complete: OnComplete,
        max_size: int,
        expire_after_s: int = 24 * 3600,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.authenticate = authenticate
        self.on_complete = on_complete
        self.max_size = max_size
        self.expire_after_s = expire_after_s

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan belongs to the app that mounts us
            return
        method = scope["method"]
        try:
            response = await self._handle(scope, receive, Headers(scope=scope))
        except _Reply as reply:
            response = _response(method, reply.status, reply.reason, reply.headers)
        except UnknownUpload:
            response = _response(method, 404, "no such upload")
        except UploadBusy:
            response = _response(method, 423, "upload is busy with another request; retry")
        if response is not None:  # None: the client went away mid-body
            await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, headers: Headers) -> Response | None:
        method = scope["method"]
        if method == "OPTIONS":
            return _response(
                method,
                204,
                headers={
                    "Tus-Version": TUS_VERSION,
                    "Tus-Extension": TUS_EXTENSIONS,
                    "Tus-Max-Size": str(self.max_size),
                    "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
                },
            )
        if headers.get("tus-resumable") != TUS_VERSION:
            raise _Reply(412, f"tus version {TUS_VERSION} required", {"Tus-Version": TUS_VERSION})
        owner = await self._authenticate(headers)
        path = _route_path(scope)
        if path in ("", "/"):
            if method != "POST":
                raise _Reply(405, "method not allowed", {"Allow": "POST, OPTIONS"})
            return await self._create(scope, receive, headers, owner)
        upload_id = path[1:]
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise UnknownUpload(upload_id)
        upload = self._load_owned(upload_id, owner)
        if method == "HEAD":
            return self._head(upload)
        if method == "PATCH":
            return await self._patch(receive, headers, upload)
        if method == "DELETE":
            return self._terminate(upload)
        raise _Reply(405, "method not allowed", {"Allow": "HEAD, PATCH, DELETE, OPTIONS"})

    async def _authenticate(self, headers: Headers) -> str:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        refusal = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not token:
            raise _Reply(401, "missing bearer token", refusal)
        try:
            owner = await self.authenticate(token)
        except PermissionError as exc:  # a known user who may not upload yet: say why
            raise _Reply(403, str(exc)) from exc
        if owner is None:
            raise _Reply(401, "token refused", refusal)
        return owner

    # -- tus requests -------------------------------------------------------------------------

    async def _create(
        self, scope: Scope, receive: Receive, headers: Headers, owner: str
    ) -> Response | None:
        if "upload-defer-length" in headers:
            raise _Reply(400, "Upload-Defer-Length is not supported; send Upload-Length")
        length = _number(headers, "upload-length")
        if length > self.max_size:
            raise _Reply(413, f"upload of {length} bytes exceeds the limit of {self.max_size}")
        metadata = _parse_metadata(headers.get("upload-metadata", ""))
        for key in FILENAME_KEYS:
            if key in metadata:
                metadata[key] = safe_filename(metadata[key])
        with_body = _content_type(headers) == OFFSET_OCTET_STREAM
        checksum = _checksum(headers) if with_body else None

        now = time.time()
        upload_id = secrets.token_hex(16)
        upload = Upload(
            upload_id, length, 0, metadata, owner, now, self._path(upload_id, "bin"), False, now
        )
        upload.data_path.touch(exist_ok=False)
        self._path(upload_id, "lock").touch(exist_ok=False)
        self._save(upload)  # last: an info file always has its data and lock files
        logger.info("upload %s created by %s: %d bytes, %s", upload_id, owner, length, metadata)

        location = {"Location": f"{scope.get('root_path', '')}/{upload_id}"}
        try:
            with self._locked(upload_id):
                if with_body:
                    upload = await self._append(receive, headers, upload, checksum)
                elif length == 0:
                    upload = await self._complete_or_500(upload)
        except _Reply as reply:  # the upload exists: tell the client where, whatever went wrong
            reply.headers.update(location)
            raise
        if upload is None:
            return None
        return _response("POST", 201, headers={**location, **self._progress_headers(upload)})

    def _head(self, upload: Upload) -> Response:
        headers = {
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
            **self._progress_headers(upload),
        }
        if upload.metadata:
            headers["Upload-Metadata"] = _encode_metadata(upload.metadata)
        return _response("HEAD", 200, headers=headers)

    async def _patch(self, receive: Receive, headers: Headers, upload: Upload) -> Response | None:
        if _content_type(headers) != OFFSET_OCTET_STREAM:
            raise _Reply(415, f"Content-Type must be {OFFSET_OCTET_STREAM}")
        offset = _number(headers, "upload-offset")
        checksum = _checksum(headers)
        with self._locked(upload.id):
            upload = self._load_owned(upload.id, upload.owner)  # may have moved meanwhile
            if offset != upload.offset:
                raise _Reply(
                    409,
                    f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                    {"Upload-Offset": str(upload.offset)},
                )
            if upload.complete:
                if _declared_length(headers):
                    raise _Reply(413, "upload is already complete")
            else:
                upload = await self._append(receive, headers, upload, checksum)
        if upload is None:
            return None
        return _response("PATCH", 204, headers=self._progress_headers(upload))

    def _terminate(self, upload: Upload) -> Response:
        with self._locked(upload.id):
            upload = self._load_owned(upload.id, upload.owner)
            self._remove(upload)
        logger.info("upload %s terminated by its owner", upload.id)
        return _response("DELETE", 204)

    # -- body and completion ------------------------------------------------------------------

    async def _append(
        self,
        receive: Receive,
        headers: Headers,
        upload: Upload,
        checksum: tuple[str, bytes] | None,
    ) -> Upload | None:
        """Append the request body, complete the upload if it is full; None if the client left.

        Completion does not depend on the client staying: its bytes are here either way.
        """
        upload, outcome = await self._write_body(receive, headers, upload, checksum)
        if outcome != "done":
            logger.info("upload %s: body %s at offset %d", upload.id, outcome, upload.offset)
        if upload.offset == upload.length:
            upload = await self._complete_or_500(upload)
        if outcome == "idle":
            raise _Reply(408, f"no data for {IDLE_TIMEOUT_S:g} s; resume from Upload-Offset")
        return None if outcome == "disconnected" else upload

    async def _write_body(
        self,
        receive: Receive,
        headers: Headers,
        upload: Upload,
        checksum: tuple[str, bytes] | None,
    ) -> tuple[Upload, str]:
        """Stream the request body onto the data file, holding at most about one write block
        in memory. Returns the new state and "done", "disconnected" or "idle"."""
        remaining = upload.length - upload.offset
        declared = _declared_length(headers)
        if declared is not None and declared > remaining:
            raise _Reply(413, f"body of {declared} bytes goes past Upload-Length")
        hasher = hashlib.new(checksum[0]) if checksum else None
        # Bytes of a body cut short are kept (that is what resuming continues from) unless the
        # client asked for them to be verified, which only a complete body can be.
        keep = hasher is None
        outcome = "disconnected"
        received = 0
        block = bytearray()
        fd = os.open(upload.data_path, os.O_WRONLY | os.O_APPEND)
        try:
            while True:
                try:
                    with anyio.fail_after(IDLE_TIMEOUT_S):
                        message = await receive()
                except TimeoutError:
                    outcome = "idle"
                    break
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > remaining:
                    keep, outcome = False, "too long"
                    break
                if hasher is not None:
                    hasher.update(chunk)
                block += chunk
                if len(block) >= _WRITE_BLOCK:
                    # Swap first: if we are cancelled while the thread writes, the finally
                    # clause must not write the same bytes again.
                    full, block = block, bytearray()
                    await anyio.to_thread.run_sync(_write_all, fd, full)
                if not message.get("more_body", False):
                    outcome = "done"
                    if hasher is not None and checksum is not None:
                        keep = hmac.compare_digest(hasher.digest(), checksum[1])
                        outcome = "done" if keep else "checksum mismatch"
                    break
        finally:
            if keep:
                _write_all(fd, block)
            else:
                os.ftruncate(fd, upload.offset)
            size = os.fstat(fd).st_size
            os.close(fd)

        upload = replace(upload, offset=size, updated_at=time.time())
        if outcome == "too long":
            raise _Reply(413, "body goes past Upload-Length")
        if outcome == "checksum mismatch":
            raise _Reply(460, "checksum mismatch; the chunk was discarded")
        return upload, outcome

    async def _complete(self, upload: Upload) -> Upload:
        await self.on_complete(upload)
        upload = replace(upload, complete=True, updated_at=time.time())
        self._save(upload)
        logger.info("upload %s complete: %d bytes", upload.id, upload.length)
        return upload

    async def _complete_or_500(self, upload: Upload) -> Upload:
        try:
            return await self._complete(upload)
        except Exception:
            logger.exception("upload %s: on_complete failed; bytes kept for a retry", upload.id)
            raise _Reply(
                500,
                "upload received but not processed; retry with an empty PATCH at the final offset",
                {"Upload-Offset": str(upload.offset)},
            ) from None

    # -- maintenance --------------------------------------------------------------------------

    def uploads(self) -> Iterator[Upload]:
        """Every upload in the directory, complete or not."""
        for info in sorted(self.directory.glob("*.json")):
            if _UPLOAD_ID.fullmatch(info.stem) and (upload := self._load(info.stem)):
                yield upload

    async def retry_completion(self, upload_id: str) -> Upload:
        """Call on_complete again for an upload whose bytes all arrived but whose callback
        failed (offset == length, not complete). Its exception, if any, propagates."""
        with self._locked(upload_id):
            upload = self._load(upload_id)
            if upload is None:
                raise UnknownUpload(upload_id)
            if upload.complete:
                return upload
            if upload.offset != upload.length:
                raise ValueError(f"upload {upload_id} has {upload.offset}/{upload.length} bytes")
            return await self._complete(upload)

    def cleanup_expired(self, now: float | None = None) -> int:
        """Remove partial uploads idle for longer than expire_after_s; return how many.

        Uploads with all their bytes (complete, or waiting for a retried callback) stay, and so
        do uploads a request is writing to right now.
        """
        now = time.time() if now is None else now
        removed = 0
        for upload in self.uploads():
            if upload.offset == upload.length or self._expires_at(upload) > now:
                continue
            try:
                with self._locked(upload.id):
                    current = self._load(upload.id)
                    if current is None or self._expires_at(current) > now:
                        continue
                    self._remove(current)
            except (UnknownUpload, UploadBusy):
                continue
            logger.info("upload %s expired at offset %d", upload.id, upload.offset)
            removed += 1
        return removed

    # -- storage ------------------------------------------------------------------------------

    def _path(self, upload_id: str, suffix: str) -> Path:
        return self.directory / f"{upload_id}.{suffix}"

    def _save(self, upload: Upload) -> None:
        info = {
            "id": upload.id,
            "length": upload.length,
            "metadata": upload.metadata,
            "owner": upload.owner,
            "created_at": upload.created_at,
            "complete": upload.complete,
        }
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{upload.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(info, file)
            os.replace(temp, self._path(upload.id, "json"))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _load(self, upload_id: str) -> Upload | None:
        info_path = self._path(upload_id, "json")
        try:
            info = json.loads(info_path.read_text())
            # A complete upload's data belongs to on_complete: its offset is its length.
            stat = info_path.stat() if info["complete"] else self._path(upload_id, "bin").stat()
        except FileNotFoundError:
            return None
        return Upload(
            id=upload_id,
            length=info["length"],
            offset=info["length"] if info["complete"] else stat.st_size,
            metadata=info["metadata"],
            owner=info["owner"],
            created_at=info["created_at"],
            data_path=self._path(upload_id, "bin"),
            complete=info["complete"],
            updated_at=stat.st_mtime,
        )

    def _load_owned(self, upload_id: str, owner: str) -> Upload:
        upload = self._load(upload_id)
        if upload is None or upload.owner != owner:  # someone else's upload does not exist
            raise UnknownUpload(upload_id)
        return upload

    def _remove(self, upload: Upload) -> None:
        # Info first, so the upload vanishes in one step; a complete upload's data is not ours.
        self._path(upload.id, "json").unlink(missing_ok=True)
        if not upload.complete:
            upload.data_path.unlink(missing_ok=True)
        self._path(upload.id, "lock").unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self, upload_id: str) -> Iterator[None]:
        """Hold the upload's lock across processes; callers re-read the upload inside it."""
        try:
            fd = os.open(self._path(upload_id, "lock"), os.O_RDWR)  # no O_CREAT: gone is gone
        except FileNotFoundError:
            raise UnknownUpload(upload_id) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadBusy(upload_id) from None
            yield
        finally:
            os.close(fd)

    def _expires_at(self, upload: Upload) -> float:
        return max(upload.created_at, upload.updated_at) + self.expire_after_s

    def _progress_headers(self, upload: Upload) -> dict[str, str]:
        headers = {"Upload-Offset": str(upload.offset)}
        if upload.offset < upload.length:  # only partial uploads expire
            headers["Upload-Expires"] = formatdate(self._expires_at(upload), usegmt=True)
        return headers


# -- header helpers ---------------------------------------------------------------------------


def _parse_metadata(header: str) -> dict[str, str]:
    """Parse Upload-Metadata: comma-separated ``key base64value`` pairs, value optional."""
    if len(header) > _MAX_METADATA_CHARS:
        raise _Reply(400, "Upload-Metadata too long")
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        if not pair.strip():
            continue
        key, _, value = pair.strip().partition(" ")
        if not _METADATA_KEY.fullmatch(key) or key in metadata:
            raise _Reply(400, f"bad or repeated Upload-Metadata key {key!r}")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _Reply(400, f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return metadata


def _encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _number(headers: Headers, name: str) -> int:
    value = headers.get(name)
    if value is None or not _NUMBER.fullmatch(value):
        raise _Reply(400, f"{name} must be a non-negative integer")
    return int(value)


def _declared_length(headers: Headers) -> int | None:
    return _number(headers, "content-length") if "content-length" in headers else None


def _content_type(headers: Headers) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _checksum(headers: Headers) -> tuple[str, bytes] | None:
    value = headers.get("upload-checksum")
    if value is None:
        return None
    algorithm, _, digest = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise _Reply(400, f"checksum algorithm must be one of {', '.join(CHECKSUM_ALGORITHMS)}")
    try:
        return algorithm, base64.b64decode(digest.strip(), validate=True)
    except binascii.Error:
        raise _Reply(400, "Upload-Checksum digest is not base64") from None


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _response(
    method: str, status: int, reason: str = "", headers: dict[str, str] | None = None
) -> Response:
    headers = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
    if reason and method != "HEAD":
        return PlainTextResponse(reason + "\n", status_code=status, headers=headers)
    return Response(status_code=status, headers=headers)
