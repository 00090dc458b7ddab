"""Test harness: a real uvicorn server running TusApp under /uploads, in a background thread."""

import base64
import hashlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from outtake.uploads.tus import TusApp, Upload

TOKEN = "creator-token"
OTHER_TOKEN = "other-creator-token"
OWNERS = {TOKEN: "creator-1", OTHER_TOKEN: "creator-2"}
MAX_SIZE = 8 << 20


@dataclass
class Server:
    url: str
    app: TusApp
    directory: Path
    received: Path
    completed: list[Upload] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    complete_failures: int = 0  # how many on_complete calls raise before one succeeds
    patches_allowed: int | None = None  # after that many PATCHes, the front answers 503
    patch_offsets: list[int] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"{self.url}/uploads/"

    def headers(self, token: str = TOKEN, **extra: str) -> dict[str, str]:
        return {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}", **extra}

    def create(self, length: int, metadata: str = "", token: str = TOKEN) -> str:
        headers = self.headers(token, **{"Upload-Length": str(length)})
        if metadata:
            headers["Upload-Metadata"] = metadata
        response = requests.post(self.endpoint, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
        return self.url + response.headers["Location"]

    def patch(self, url: str, offset: int, body: bytes, token: str = TOKEN, **extra: str):
        headers = self.headers(
            token,
            **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        )
        headers.update(extra)
        return requests.patch(url, data=body, headers=headers, timeout=10)

    def head(self, url: str, token: str = TOKEN) -> requests.Response:
        return requests.head(url, headers=self.headers(token), timeout=10)

    def open_patch(self, url: str, offset: int, length: int) -> http.client.HTTPConnection:
        """Start a PATCH announcing `length` bytes; the caller sends the body with .send()."""
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.putrequest("PATCH", parts.path)
        for name, value in self.headers(
            **{
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
            }
        ).items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection

    def wait_offset(self, url: str, offset: int, timeout: float = 5.0) -> None:
        """Wait until the server has written `offset` bytes and released the upload's lock."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # An empty PATCH succeeds only once the lock is free.
            if (
                int(self.head(url).headers["Upload-Offset"]) == offset
                and self.patch(url, offset, b"").status_code == 204
            ):
                return
            time.sleep(0.02)
        raise AssertionError(f"offset never reached {offset}")

    def wait_locked(self, url: str, offset: int = 0, timeout: float = 5.0) -> None:
        """Wait until a request in flight holds the upload's lock (empty PATCHes are 423)."""
        deadline = time.monotonic() + timeout
        while self.patch(url, offset, b"").status_code != 423:
            assert time.monotonic() < deadline, "the upload never got locked"
            time.sleep(0.02)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir())


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_app(server: Server) -> Starlette:
    async def known(request: Request) -> JSONResponse | PlainTextResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return PlainTextResponse("token refused", status_code=401)
        have = server.known | {u.metadata.get("sha256") for u in server.completed}
        asked = (await request.json())["sha256"]
        return JSONResponse({"known": [digest for digest in asked if digest in have]})

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        """Records PATCH offsets and fails PATCHes on demand, like a flaky network."""
        if scope["type"] == "http" and scope["method"] == "PATCH":
            offset = dict(scope["headers"]).get(b"upload-offset", b"-1")
            server.patch_offsets.append(int(offset))
            if server.patches_allowed is not None:
                if server.patches_allowed <= 0:
                    await PlainTextResponse("unavailable", status_code=503)(scope, receive, send)
                    return
                server.patches_allowed -= 1
        await server.app(scope, receive, send)

    return Starlette(
        routes=[
            Route("/api/assets/known", known, methods=["POST"]),
            Mount("/uploads", app=front),
        ]
    )


def make_tus(server: Server, **options: int) -> TusApp:
    async def authenticate(token: str) -> str | None:
        return OWNERS.get(token)

    async def on_complete(upload: Upload) -> None:
        if server.complete_failures:
            server.complete_failures -= 1
            raise RuntimeError("asset store unavailable")
        # Take ownership the way the real app does: move the bytes away.
        destination = server.received / upload.id
        os.replace(upload.data_path, destination)
        server.completed.append(replace(upload, data_path=destination))

    return TusApp(
        server.directory,
        authenticate=authenticate,
        on_complete=on_complete,
        max_size=MAX_SIZE,
        **options,
    )


@contextmanager
def serve(app) -> Iterator[str]:
    """Run an ASGI app in uvicorn on a free loopback port, in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
