"""Upload a directory to an Outtake server over tus, resumably, skipping what it already has.

Used by ``outtake upload DIR --server URL --token T``. Resuming across runs works through tuspy's
URL storage, keyed by server and SHA-256 (not by path, and not by tuspy's default fingerprint of
the first 64 KiB, which two camera files of the same size can share). The same state file keeps
the hashes of files already read, so a rerun over a large archive does not hash it all again.

Camera sidecars (DJI .LRF proxies, .SRT telemetry, Sony .XML…) are never uploaded: what they
say about their video (altitude, log profile) goes with the video as its "sidecar" metadata.
"""

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from tinydb import Query, TinyDB
from tusclient import client
from tusclient.exceptions import TusCommunicationError
from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

from outtake.media.analysis.vendor import sidecar_facts
from outtake.media.files import media_files

# tuspy re-reads the offset and resends after a failed chunk; this also retries an on_complete
# the server failed to run, since the resend at the final offset is an empty PATCH.
RETRIES = 3
RETRY_DELAY_S = 5
KNOWN_BATCH = 500
REQUEST_TIMEOUT_S = 60
_HASH_BLOCK = 1 << 20
_HASH_FLUSH_EVERY = 100


class UploadError(Exception):
    """The run cannot go on (the server is unreachable, or refuses us)."""


class TokenRefused(UploadError):
    def __init__(self, detail: str = "") -> None:
        super().__init__("the server refused the token" + (f" ({detail})" if detail else ""))


@dataclass
class UploadReport:
    uploaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def default_state_file() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "outtake" / "uploads.json"


def upload_directory(
    directory: Path,
    server: str,
    token: str,
    *,
    state_file: Path | None = None,
    select: Callable[[Path], bool] | None = None,
    chunk_size: int = 8 << 20,
    console: Console | None = None,
    attest: bool = False,
) -> UploadReport:
    """Upload every file under `directory` the server does not have yet, but hidden files and
    camera sidecars. `attest`: the creator attests owning each file (core.terms'
    OWNERSHIP_ATTESTATIONS); an upload without it is not offered to buyers until attested.

    A file's failure is recorded in the report and the run goes on; a refused token raises
    TokenRefused and an unreachable server UploadError.
    """
    server = server.rstrip("/")
    state_file = Path(state_file) if state_file else default_state_file()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state = state_file.resolve()  # kept inside the tree, it is still not footage
    files = [
        path
        for path in media_files(Path(directory))
        if path.resolve() != state and (select is None or select(path))
    ]
    report = UploadReport()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    tus = client.TusClient(f"{server}/uploads/", headers={"Authorization": f"Bearer {token}"})
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    )
    with (
        closing(FileStorage(str(state_file))) as urls,
        closing(_HashCache(state_file)) as hashes,
        progress,
    ):
        hashing = progress.add_task("hashing", total=sum(p.stat().st_size for p in files))
        digests: dict[Path, str] = {}
        for path in files:
            try:
                digests[path] = hashes.sha256(path, progress, hashing)
            except OSError as error:  # unreadable or gone: that file fails, the rest go on
                _fail(report, console, path, str(error))
        progress.update(hashing, description="hashed", visible=False)

        known = _known(session, server, set(digests.values()))
        todo = []
        for path in digests:
            if digests[path] in known:
                report.skipped.append(path)
            else:
                known.add(digests[path])  # a second copy in this run is a duplicate too
                todo.append(path)

        sending = progress.add_task("uploading", total=sum(p.stat().st_size for p in todo))
        for path in todo:
            progress.update(sending, description=path.name)
            try:
                _upload_file(tus, path, digests[path], urls, chunk_size, progress, sending, attest)
            except (TusCommunicationError, OSError) as error:
                if _status(error) == 401:
                    raise TokenRefused(_reason(error)) from error
                _fail(report, console, path, _reason(error))
            else:
                report.uploaded.append(path)
        progress.update(sending, description="done")
    return report


def _fail(report: UploadReport, console: Console | None, path: Path, reason: str) -> None:
    report.failed.append((path, reason))
    if console is not None:
        console.print(f"[red]failed[/red] {path}: {reason}")


def _known(session: requests.Session, server: str, digests: set[str]) -> set[str]:
    """Ask the server which of these contents it already has."""
    ordered = sorted(digests)
    known: set[str] = set()
    for start in range(0, len(ordered), KNOWN_BATCH):
        try:
            response = session.post(
                f"{server}/api/assets/known",
                json={"sha256": ordered[start : start + KNOWN_BATCH]},
                timeout=REQUEST_TIMEOUT_S,
            )
        except requests.RequestException as error:
            raise UploadError(f"cannot reach {server}: {error}") from error
        if response.status_code in (401, 403):
            raise TokenRefused(response.text.strip()[:200])
        if response.status_code != 200:
            raise UploadError(
                f"{server} did not say which files it has: HTTP {response.status_code} "
                f"{response.text.strip()[:200]}"
            )
        known.update(response.json()["known"])
    return known


def _upload_file(
    tus: client.TusClient,
    path: Path,
    digest: str,
    urls: FileStorage,
    chunk_size: int,
    progress: Progress,
    task: TaskID,
    attest: bool,
) -> None:
    size = path.stat().st_size
    metadata = {"filename": path.name, "sha256": digest, "size": str(size)}
    if facts := sidecar_facts(path):
        metadata["sidecar"] = json.dumps(facts, sort_keys=True)
    if attest:
        metadata["attest"] = "1"  # the server records the ownership attestation with the asset
    key = _resume_key(tus.url, metadata)
    uploader = _uploader(tus, path, key, urls, chunk_size, metadata)
    progress.advance(task, uploader.offset)
    # At least one PATCH, even when every byte is already there (resumed upload, empty file):
    # its answer is what says the server has finished with the upload.
    while True:
        before = uploader.offset
        uploader.upload_chunk()
        progress.advance(task, uploader.offset - before)
        if uploader.offset >= size:
            break
    urls.remove_item(key)


def _uploader(
    tus: client.TusClient,
    path: Path,
    key: str,
    urls: FileStorage,
    chunk_size: int,
    metadata: dict[str, str],
) -> Uploader:
    def make() -> Uploader:
        # A path, not an open stream: tuspy closes the stream it fingerprints.
        return tus.uploader(
            file_path=str(path),
            chunk_size=chunk_size,
            metadata=metadata,
            retries=RETRIES,
            retry_delay=RETRY_DELAY_S,
            store_url=True,
            url_storage=urls,
            fingerprinter=_ContentKey(key),
        )

    try:
        return make()  # resumes from the stored URL, if any, by asking the server its offset
    except TusCommunicationError as error:
        if error.status_code not in (404, 410):
            raise
    urls.remove_item(key)  # the server no longer has that upload (expired): start over
    return make()


def _resume_key(server: str, metadata: dict[str, str]) -> str:
    """Which stored upload a file resumes: the same content sent with the same facts and
    attestation. tus takes metadata only when an upload is created, so an --attest or sidecar
    facts added on a rerun start a fresh upload rather than resume one that lacks them."""
    key = f"{server} sha256:{metadata['sha256']}"
    sent = {k: v for k, v in metadata.items() if k not in ("filename", "sha256", "size")}
    if not sent:
        return key  # a plain upload keeps the key earlier versions stored
    choices = hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()
    return f"{key} metadata:{choices}"


class _ContentKey(Fingerprint):
    def __init__(self, key: str) -> None:
        self.key = key

    def get_fingerprint(self, fs: IO) -> str:
        return self.key


class _HashCache:
    """SHA-256 of files already read, keyed by path, size and mtime, in the state file."""

    def __init__(self, state_file: Path) -> None:
        self._db = TinyDB(state_file)
        self._table = self._db.table("sha256")
        self._entries = {row["path"]: row for row in self._table.all()}
        self._unsaved: dict[str, dict] = {}

    def sha256(self, path: Path, progress: Progress, task: TaskID) -> str:
        stat = path.stat()
        entry = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        cached = self._entries.get(entry["path"])
        if cached and (cached["size"], cached["mtime_ns"]) == (entry["size"], entry["mtime_ns"]):
            progress.advance(task, stat.st_size)
            return cached["sha256"]
        entry["sha256"] = _hash_file(path, lambda n: progress.advance(task, n))
        self._entries[entry["path"]] = self._unsaved[entry["path"]] = entry
        if len(self._unsaved) >= _HASH_FLUSH_EVERY:  # TinyDB rewrites the whole file per write
            self._flush()
        return entry["sha256"]

    def _flush(self) -> None:
        if self._unsaved:
            self._table.remove(Query().path.one_of(list(self._unsaved)))
            self._table.insert_multiple(self._unsaved.values())
            self._unsaved.clear()

    def close(self) -> None:
        self._flush()
        self._db.close()


def _hash_file(path: Path, advance: Callable[[int], object]) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
            advance(len(block))
    return digest.hexdigest()


def _status(error: Exception) -> int | None:
    return getattr(error, "status_code", None)


def _reason(error: Exception) -> str:
    status = _status(error)
    if status is None:
        return str(error) or type(error).__name__
    content = getattr(error, "response_content", None) or b""
    if isinstance(content, bytes):
        content = content.decode(errors="replace")
    return f"HTTP {status}: {content.strip()[:200]}".rstrip(": ")
