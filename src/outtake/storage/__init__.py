"""The one blob storage interface: originals, thumbnails and packages.

obstore gives LocalStore, MemoryStore and S3Store one API, so the adapter is chosen by the
OUTTAKE_STORAGE_URL setting (file://, memory://, s3://bucket/prefix) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import obstore
from obstore.store import LocalStore, MemoryStore, from_url

CHUNK = 1 << 20


@dataclass
class BlobStore:
    url: str

    def __post_init__(self) -> None:
        parsed = urlparse(self.url)
        self._local_root: Path | None = None
        if parsed.scheme == "file":
            root = Path(parsed.path)
            root.mkdir(parents=True, exist_ok=True)
            self._local_root = root
            self._store = LocalStore(root, mkdir=True)
        elif parsed.scheme == "memory":
            self._store = MemoryStore()
        else:
            self._store = from_url(self.url)

    def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        """Store a local file under key; on local storage a move is a rename, not a copy."""
        if self._local_root is not None and move:
            target = self._local_root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(os.fspath(path), target)
            return
        with open(path, "rb") as fh:
            obstore.put(self._store, key, fh)
        if move:
            os.unlink(path)

    def put_bytes(self, key: str, data: bytes) -> None:
        obstore.put(self._store, key, data)

    def delete(self, key: str) -> None:
        """Remove a blob; one already gone is not an error."""
        with contextlib.suppress(FileNotFoundError):
            obstore.delete(self._store, key)

    def get_bytes(self, key: str) -> bytes:
        return bytes(obstore.get(self._store, key).bytes())

    def size(self, key: str) -> int:
        return int(obstore.head(self._store, key)["size"])

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) of a blob in chunks; memory stays flat for any size."""
        options = {"range": (start, end)} if end is not None else {"range": {"offset": start}}
        result = obstore.get(self._store, key, options=options)
        for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    def download(self, key: str, target: Path) -> Path:
        """Materialise a blob as a local file (for decoders that need a path)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            for chunk in self.iter_range(key):
                fh.write(chunk)
        return target

    def local_path(self, key: str) -> Path | None:
        """The blob's own file when storage is local, so readers need not copy it."""
        if self._local_root is None:
            return None
        return self._local_root / key


_stores: dict[str, BlobStore] = {}


def get_store(url: str | None = None) -> BlobStore:
    """The configured store (Django settings when no url is given), one per url per process."""
    if url is None:
        from django.conf import settings

        url = settings.OUTTAKE_STORAGE_URL
    if url not in _stores:
        _stores[url] = BlobStore(url)
    return _stores[url]
