"""The tus server over real HTTP: the official tuspy client, raw requests and raw sockets."""

import base64
import hashlib
import http.client
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
import requests
from tusclient import client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from tests.uploads.tus_harness import MAX_SIZE, OTHER_TOKEN, TOKEN, metadata, sha256

CHUNK = 64 << 10


def payload(size: int, seed: int = 1) -> bytes:
    return hashlib.shake_256(seed.to_bytes(4, "big")).digest(size)


def tus_client(server, token: str = TOKEN) -> client.TusClient:
    return client.TusClient(server.endpoint, headers={"Authorization": f"Bearer {token}"})


def decode_metadata(header: str) -> dict[str, str]:
    pairs = (item.strip().partition(" ") for item in header.split(","))
    return {key: base64.b64decode(value).decode() for key, _, value in pairs}


def test_options_needs_no_token(server):
    response = requests.options(server.endpoint, timeout=10)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) >= {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert response.headers["Tus-Max-Size"] == str(MAX_SIZE)


def test_tuspy_upload_arrives_byte_for_byte(server):
    data = payload(1_000_000)
    uploader = tus_client(server).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=300_000,
        metadata={"filename": "clip.mp4", "sha256": sha256(data)},
    )
    uploader.upload()

    assert urlsplit(uploader.url).path.startswith("/uploads/")
    [upload] = server.completed
    assert upload.owner == "creator-1"
    assert upload.metadata == {"filename": "clip.mp4", "sha256": sha256(data)}
    assert sha256(upload.data_path.read_bytes()) == sha256(data)
    head = server.head(uploader.url)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert "Upload-Expires" not in head.headers  # complete uploads do not expire
    assert not list(server.directory.glob("*.bin"))  # on_complete took the bytes away


def test_tuspy_checksums_are_verified(server):
    data = payload(200_000)
    uploader = tus_client(server).uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, upload_checksum=True
    )
    uploader.upload()
    assert sha256(server.completed[0].data_path.read_bytes()) == sha256(data)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_checksum_mismatch_discards_the_chunk(server, algorithm):
    url = server.create(10)
    wrong = base64.b64encode(hashlib.new(algorithm, b"other").digest()).decode()
    response = server.patch(url, 0, b"01234", **{"Upload-Checksum": f"{algorithm} {wrong}"})
    assert response.status_code == 460
    assert server.head(url).headers["Upload-Offset"] == "0"
    right = base64.b64encode(hashlib.new(algorithm, b"01234").digest()).decode()
    response = server.patch(url, 0, b"01234", **{"Upload-Checksum": f"{algorithm} {right}"})
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"
    bad = server.patch(url, 5, b"56789", **{"Upload-Checksum": "md5 AAAA"})
    assert bad.status_code == 400


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_no_or_wrong_token_is_refused_and_nothing_stored(server, token):
    headers = server.headers(**{"Upload-Length": "10"})
    del headers["Authorization"]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.post(server.endpoint, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.text.strip() in {"missing bearer token", "token refused"}
    with pytest.raises(TusCommunicationError) as raised:
        tus_client(server, token or "").uploader(file_stream=io.BytesIO(b"x" * 10)).upload()
    assert raised.value.status_code == 401
    assert server.files() == []


def test_unsupported_tus_version_is_412(server):
    headers = server.headers(**{"Upload-Length": "10", "Tus-Resumable": "0.2.2"})
    response = requests.post(server.endpoint, headers=headers, timeout=10)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_resume_after_some_chunks_with_a_new_client(server):
    data = payload(5 * CHUNK + 123)
    first = tus_client(server).uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK)
    first.upload_chunk()
    first.upload_chunk()
    assert server.head(first.url).headers["Upload-Offset"] == str(2 * CHUNK)
    assert "Upload-Expires" in server.head(first.url).headers

    second = tus_client(server).uploader(
        file_stream=io.BytesIO(data), url=first.url, chunk_size=CHUNK
    )
    assert second.offset == 2 * CHUNK
    second.upload()
    assert sha256(server.completed[0].data_path.read_bytes()) == sha256(data)


def test_patch_cut_off_mid_body_keeps_what_arrived(server):
    data = payload(400_000)
    url = server.create(len(data))
    connection = server.open_patch(url, 0, len(data))
    connection.send(data[:150_000])
    connection.sock.close()  # the network dies in the middle of the body
    server.wait_offset(url, 150_000)

    resumed = tus_client(server).uploader(file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK)
    assert resumed.offset == 150_000
    resumed.upload()
    assert sha256(server.completed[0].data_path.read_bytes()) == sha256(data)


def test_wrong_offset_is_409(server):
    url = server.create(10)
    assert server.patch(url, 0, b"abc").status_code == 204
    response = server.patch(url, 0, b"abc")
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == "3"
    assert server.patch(url, 4, b"abc").status_code == 409


def test_wrong_content_type_is_415(server):
    url = server.create(10)
    response = server.patch(url, 0, b"abc", **{"Content-Type": "application/octet-stream"})
    assert response.status_code == 415
    assert server.head(url).headers["Upload-Offset"] == "0"


def test_over_max_size_is_413_with_a_reason(server):
    headers = server.headers(**{"Upload-Length": str(MAX_SIZE + 1)})
    response = requests.post(server.endpoint, headers=headers, timeout=10)
    assert response.status_code == 413
    assert "exceeds the limit" in response.text
    assert server.files() == []


def test_bytes_past_upload_length_are_refused(server):
    url = server.create(10)
    assert server.patch(url, 0, b"0123456789abc").status_code == 413
    # Without a Content-Length (chunked body) the excess shows only while streaming.
    chunked = server.patch(url, 0, iter([b"01234567", b"89abc"]))
    assert chunked.status_code == 413
    assert server.head(url).headers["Upload-Offset"] == "0"
    assert server.patch(url, 0, b"0123456789").status_code == 204
    assert server.patch(url, 10, b"x").status_code == 413  # complete: nothing more


def test_another_owner_sees_nothing(server):
    url = server.create(10)
    assert server.patch(url, 0, b"abc").status_code == 204
    assert server.head(url, OTHER_TOKEN).status_code == 404
    assert server.patch(url, 3, b"def", OTHER_TOKEN).status_code == 404
    assert requests.delete(url, headers=server.headers(OTHER_TOKEN), timeout=10).status_code == 404
    assert server.head(url).headers["Upload-Offset"] == "3"


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/../uploads/x",
        "/uploads/..%2F..%2Fetc%2Fpasswd",
        "/uploads/not-a-token",
        "/uploads/" + "A" * 32,
        "/uploads/" + "a" * 33,
    ],
)
def test_paths_that_are_not_upload_ids_are_404(server, path):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("HEAD", path, headers=server.headers())  # sent as is, not normalised
    assert connection.getresponse().status == 404


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.mp4", "x.mp4"),
        ("a\x00b\x1b[31m\nc.mov", "ab[31mc.mov"),
        ("..", "upload"),
    ],
)
def test_filename_metadata_is_sanitised(server, given, stored):
    url = server.create(3, metadata(filename=given, sha256="abc"))
    assert decode_metadata(server.head(url).headers["Upload-Metadata"])["filename"] == stored
    assert server.patch(url, 0, b"abc").status_code == 204
    assert server.completed[0].metadata["filename"] == stored
    assert server.files() == [f"{server.completed[0].id}.{ext}" for ext in ("json", "lock")]


def test_metadata_keys_without_values_and_no_filetype(server):
    url = server.create(1, "flag," + metadata(filename="a.mp4"))
    head = server.head(url)
    assert head.status_code == 200  # tuspyserver answered 400 here without a filetype key
    assert head.headers["Upload-Metadata"].split(",")[0] == "flag"
    for bad in ["k not-base64!", "k YQ==,k YQ==", "bad key YQ=="]:
        headers = server.headers(**{"Upload-Length": "1", "Upload-Metadata": bad})
        assert requests.post(server.endpoint, headers=headers, timeout=10).status_code == 400


def test_creation_with_upload_and_empty_uploads(server):
    headers = server.headers(
        **{"Upload-Length": "5", "Content-Type": "application/offset+octet-stream"}
    )
    response = requests.post(server.endpoint, headers=headers, data=b"hello", timeout=10)
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5"
    assert server.completed[0].data_path.read_bytes() == b"hello"

    server.create(0)
    assert server.completed[1].length == 0


def test_termination_removes_a_partial_upload(server):
    url = server.create(10)
    server.patch(url, 0, b"abc")
    response = requests.delete(url, headers=server.headers(), timeout=10)
    assert response.status_code == 204
    assert server.head(url).status_code == 404
    assert server.files() == []


def test_two_patches_never_interleave(server):
    data = payload(200_000)
    url = server.create(len(data))
    first = server.open_patch(url, 0, len(data))
    first.send(data[:50_000])
    server.wait_locked(url)
    assert server.patch(url, 0, b"x" * 10).status_code == 423
    first.send(data[50_000:])
    assert first.getresponse().status == 204
    assert sha256(server.completed[0].data_path.read_bytes()) == sha256(data)


def test_failing_on_complete_keeps_the_bytes_and_is_retried(server):
    data = payload(100_000)
    server.complete_failures = 1
    uploader = tus_client(server).uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK)
    with pytest.raises(TusUploadFailed) as raised:
        uploader.upload()
    assert raised.value.status_code == 500
    assert b"retry with an empty PATCH" in raised.value.response_content
    assert server.completed == []
    head = server.head(uploader.url)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(data))
    assert server.app.cleanup_expired(now=time.time() + 10 * 24 * 3600) == 0  # not abandoned

    assert server.patch(uploader.url, len(data), b"").status_code == 204  # the retry
    assert server.patch(uploader.url, len(data), b"").status_code == 204  # a no-op now
    [upload] = server.completed
    assert sha256(upload.data_path.read_bytes()) == sha256(data)


def test_admin_can_retry_a_failed_completion(server):
    server.complete_failures = 2
    url = server.create(3)
    assert server.patch(url, 0, b"abc").status_code == 500
    upload_id = url.rsplit("/", 1)[1]
    [pending] = [u for u in server.app.uploads() if not u.complete]
    assert (pending.id, pending.offset, pending.length) == (upload_id, 3, 3)
    with pytest.raises(RuntimeError):
        anyio.run(server.app.retry_completion, upload_id)
    assert anyio.run(server.app.retry_completion, upload_id).complete
    assert len(server.completed) == 1
    assert anyio.run(server.app.retry_completion, upload_id).complete  # idempotent
    assert len(server.completed) == 1


def test_cleanup_removes_only_abandoned_partial_uploads(server):
    abandoned = server.create(10)
    server.patch(abandoned, 0, b"abc")
    never_started = server.create(10)
    done = server.create(3)
    server.patch(done, 0, b"abc")
    busy = server.create(100_000)
    connection = server.open_patch(busy, 0, 100_000)
    connection.send(b"x" * 1000)
    server.wait_locked(busy)

    later = time.time() + 25 * 3600
    assert server.app.cleanup_expired(now=time.time()) == 0
    assert server.app.cleanup_expired(now=later) == 2
    assert server.head(abandoned).status_code == 404
    assert server.head(never_started).status_code == 404
    assert server.head(done).status_code == 200
    connection.send(b"x" * 99_000)
    assert connection.getresponse().status == 204
    assert server.head(busy).headers["Upload-Offset"] == "100000"
    ids = {url.rsplit("/", 1)[1] for url in (abandoned, never_started)}
    assert not [name for name in os.listdir(server.directory) if name.split(".")[0] in ids]


def test_upload_expires_header_slides_with_activity(server):
    response = requests.post(
        server.endpoint, headers=server.headers(**{"Upload-Length": "10"}), timeout=10
    )
    assert "GMT" in response.headers["Upload-Expires"]
    url = server.url + response.headers["Location"]
    assert "Upload-Expires" in server.patch(url, 0, b"abc").headers


def test_a_stalled_body_releases_the_upload(server, monkeypatch):
    monkeypatch.setattr("outtake.uploads.tus.IDLE_TIMEOUT_S", 0.3)
    url = server.create(100)
    connection = server.open_patch(url, 0, 100)
    connection.send(b"x" * 40)  # then nothing: a client whose network vanished
    assert connection.getresponse().status == 408
    assert server.head(url).headers["Upload-Offset"] == "40"
    assert server.patch(url, 40, b"y" * 60).status_code == 204


SERVER_PROCESS = """
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from outtake.uploads.tus import TusApp


async def authenticate(token):
    return "creator" if token == "t" else None


async def on_complete(upload):
    pass


tus = TusApp(Path(sys.argv[1]), authenticate=authenticate, on_complete=on_complete,
             max_size=1 << 30)
app = Starlette(routes=[Mount("/uploads", app=tus)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_large_patch_streams_to_disk_without_buffering(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_PROCESS, str(tmp_path), str(port)],
    )
    try:
        base = f"http://127.0.0.1:{port}/uploads/"
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.options(base, timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        headers = {"Tus-Resumable": "1.0.0", "Authorization": "Bearer t"}

        def upload(size: int) -> tuple[str, str]:
            created = requests.post(
                base, headers={**headers, "Upload-Length": str(size)}, timeout=10
            )
            path = created.headers["Location"]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.putrequest("PATCH", path)
            for name, value in {
                **headers,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(size),
            }.items():
                connection.putheader(name, value)
            connection.endheaders()
            digest = hashlib.sha256()
            block = 256 << 10
            for start in range(0, size, block):
                chunk = payload(min(block, size - start), seed=start)
                digest.update(chunk)
                connection.send(chunk)
            assert connection.getresponse().status == 204
            return path.rsplit("/", 1)[1], digest.hexdigest()

        upload(4 << 20)  # warm up every code path before taking the baseline
        before = peak_rss(process.pid)
        size = 64 << 20
        upload_id, expected = upload(size)
        grown = peak_rss(process.pid) - before

        received = hashlib.sha256((tmp_path / f"{upload_id}.bin").read_bytes()).hexdigest()
        assert received == expected
        assert grown < size // 4, f"server peak RSS grew by {grown >> 20} MiB for a 64 MiB body"
    finally:
        process.terminate()
        process.wait(10)


def test_the_lock_holds_across_processes(server):
    url = server.create(10)
    lock_file = server.directory / (url.rsplit("/", 1)[1] + ".lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            "f = open(sys.argv[1])\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert server.patch(url, 0, b"abc").status_code == 423
    finally:
        holder.kill()
        holder.wait(10)
    assert server.patch(url, 0, b"abc").status_code == 204


def test_deleting_a_complete_upload_leaves_the_apps_file(server):
    url = server.create(3)
    server.patch(url, 0, b"abc")
    assert requests.delete(url, headers=server.headers(), timeout=10).status_code == 204
    assert server.head(url).status_code == 404
    assert server.completed[0].data_path.read_bytes() == b"abc"
    assert server.files() == []


def test_location_follows_the_mount_prefix(server):
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/site/uploads/",
        "root_path": "/site/uploads",
        "headers": [
            (b"tus-resumable", b"1.0.0"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"upload-length", b"5"),
        ],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    anyio.run(server.app, scope, receive, send)
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 201
    assert headers[b"location"].startswith(b"/site/uploads/")
    assert len(headers[b"location"]) == len("/site/uploads/") + 32
