"""upload_directory against a real tus server (see tus_harness.py)."""

import hashlib
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from outtake.uploads import client
from outtake.uploads.client import TokenRefused, UploadError, upload_directory
from tests.uploads.tus_harness import MAX_SIZE, OTHER_TOKEN, TOKEN, sha256

CHUNK = 64 << 10


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    monkeypatch.setattr(client, "RETRY_DELAY_S", 0)


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.mp4": hashlib.shake_256(b"a").digest(300_000),
        "day 2/b.mov": hashlib.shake_256(b"b").digest(150_000),
        "day 2/raw/c.jpg": b"c" * 5000,
        "empty.txt": b"",
    }
    hidden = {".DS_Store": b"junk", ".cache/d.mp4": b"hidden", "day 2/.e.mp4": b"hidden"}
    for name, data in {**files, **hidden}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def received(server) -> dict[str, bytes]:
    return {u.metadata["filename"]: u.data_path.read_bytes() for u in server.completed}


def test_uploads_a_tree_and_skips_hidden_files(server, tmp_path):
    files = make_tree(tmp_path / "archive")
    state = tmp_path / "archive" / "state.json"  # inside the tree: must not be uploaded
    output = io.StringIO()
    report = upload_directory(
        tmp_path / "archive",
        server.url,
        TOKEN,
        state_file=state,
        chunk_size=CHUNK,
        console=Console(file=output, width=120),
    )
    assert sorted(p.relative_to(tmp_path / "archive").as_posix() for p in report.uploaded) == (
        sorted(files)
    )
    assert report.skipped == [] and report.failed == []
    assert received(server) == {Path(name).name: data for name, data in files.items()}
    for upload in server.completed:
        data = upload.data_path.read_bytes()
        assert upload.metadata == {
            "filename": upload.metadata["filename"],
            "sha256": sha256(data),
            "size": str(len(data)),
        }
    assert "b.mov" in output.getvalue() or "done" in output.getvalue()

    again = upload_directory(tmp_path / "archive", server.url, TOKEN, state_file=state)
    assert again.uploaded == [] and len(again.skipped) == len(files)


def test_skips_what_the_server_knows_and_duplicates(server, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "known.mp4").write_bytes(b"k" * 1000)
    (tmp_path / "dir" / "new.mp4").write_bytes(b"n" * 1000)
    (tmp_path / "dir" / "new copy.mp4").write_bytes(b"n" * 1000)
    server.known.add(sha256(b"k" * 1000))
    report = upload_directory(
        tmp_path / "dir", server.url + "/", TOKEN, state_file=tmp_path / "state.json"
    )
    assert [p.name for p in report.uploaded] == ["new copy.mp4"]
    assert sorted(p.name for p in report.skipped) == ["known.mp4", "new.mp4"]
    assert len(server.completed) == 1


def test_select_limits_the_files(server, tmp_path):
    make_tree(tmp_path / "archive")
    report = upload_directory(
        tmp_path / "archive",
        server.url,
        TOKEN,
        state_file=tmp_path / "state.json",
        select=lambda path: path.suffix == ".mov",
    )
    assert [p.name for p in report.uploaded] == ["b.mov"]


def test_resumes_an_interrupted_upload_on_the_next_run(server, tmp_path):
    data = hashlib.shake_256(b"big").digest(10 * CHUNK + 7)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "big.mp4").write_bytes(data)
    state = tmp_path / "state.json"

    server.patches_allowed = 3  # then the network fails for every retry
    first = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=state, chunk_size=CHUNK
    )
    assert first.uploaded == []
    [(path, reason)] = first.failed
    assert path.name == "big.mp4" and "503" in reason
    assert server.completed == []

    server.patches_allowed = None
    server.patch_offsets.clear()
    second = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=state, chunk_size=CHUNK
    )
    assert [p.name for p in second.uploaded] == ["big.mp4"]
    assert server.patch_offsets[0] == 3 * CHUNK  # continued, not restarted
    assert [u.data_path.read_bytes() for u in server.completed] == [data]


def test_a_failed_completion_is_finished_by_the_next_run(server, tmp_path, monkeypatch):
    monkeypatch.setattr(client, "RETRIES", 0)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "clip.mp4").write_bytes(b"x" * 1000)
    state = tmp_path / "state.json"
    server.complete_failures = 1
    first = upload_directory(tmp_path / "dir", server.url, TOKEN, state_file=state)
    [(_, reason)] = first.failed
    assert "500" in reason and "not processed" in reason

    second = upload_directory(tmp_path / "dir", server.url, TOKEN, state_file=state)
    assert [p.name for p in second.uploaded] == ["clip.mp4"]
    assert server.patch_offsets[-1] == 1000  # only the empty PATCH that finishes it
    assert len(server.completed) == 1


def test_a_transient_completion_failure_is_retried_within_the_run(server, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "clip.mp4").write_bytes(b"x" * 1000)
    server.complete_failures = 1
    report = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=tmp_path / "state.json"
    )
    assert [p.name for p in report.uploaded] == ["clip.mp4"]
    assert len(server.completed) == 1


def test_an_upload_the_server_forgot_starts_over(server, tmp_path):
    data = b"f" * (3 * CHUNK)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f.mp4").write_bytes(data)
    state = tmp_path / "state.json"
    server.patches_allowed = 1
    upload_directory(tmp_path / "dir", server.url, TOKEN, state_file=state, chunk_size=CHUNK)
    server.patches_allowed = None
    assert server.app.cleanup_expired(now=9e12) == 1  # expired meanwhile
    report = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=state, chunk_size=CHUNK
    )
    assert [p.name for p in report.uploaded] == ["f.mp4"]
    assert server.completed[0].data_path.read_bytes() == data


def test_per_file_errors_do_not_stop_the_run(server, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "huge.mp4").write_bytes(b"\0" * (MAX_SIZE + 1))
    (tmp_path / "dir" / "small.mp4").write_bytes(b"s" * 10)
    report = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=tmp_path / "state.json"
    )
    assert [p.name for p in report.uploaded] == ["small.mp4"]
    [(path, reason)] = report.failed
    assert path.name == "huge.mp4" and "413" in reason


@pytest.mark.parametrize("token", ["wrong", OTHER_TOKEN])
def test_a_refused_token_is_a_clear_error(server, tmp_path, token):
    make_tree(tmp_path / "archive")
    with pytest.raises(TokenRefused, match="the server refused the token"):
        upload_directory(
            tmp_path / "archive", server.url, token, state_file=tmp_path / "state.json"
        )
    assert server.completed == [] and server.files() == []


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.mp4").write_bytes(b"a")
    with pytest.raises(UploadError, match="cannot reach"):
        upload_directory(
            tmp_path / "dir", "http://127.0.0.1:9", TOKEN, state_file=tmp_path / "s.json"
        )


def test_hashes_are_cached_between_runs(server, tmp_path, monkeypatch):
    make_tree(tmp_path / "archive")
    state = tmp_path / "state.json"
    upload_directory(tmp_path / "archive", server.url, TOKEN, state_file=state)
    hashed = []
    real = client._hash_file
    monkeypatch.setattr(
        client, "_hash_file", lambda path, advance: hashed.append(path) or real(path, advance)
    )
    (tmp_path / "archive" / "a.mp4").write_bytes(b"changed")
    upload_directory(tmp_path / "archive", server.url, TOKEN, state_file=state)
    assert [p.name for p in hashed] == ["a.mp4"]


def test_an_unreadable_file_fails_alone(server, tmp_path, monkeypatch):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "locked.mp4").write_bytes(b"l")
    (tmp_path / "dir" / "ok.mp4").write_bytes(b"o")
    real = client._hash_file

    def unreadable(path, advance):
        if path.name == "locked.mp4":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, advance)

    monkeypatch.setattr(client, "_hash_file", unreadable)
    report = upload_directory(
        tmp_path / "dir", server.url, TOKEN, state_file=tmp_path / "state.json"
    )
    assert [p.name for p in report.uploaded] == ["ok.mp4"]
    [(path, reason)] = report.failed
    assert path.name == "locked.mp4" and "Permission denied" in reason


DJI_SRT = "1\n00:00:00,000 --> 00:00:00,033\n[rel_alt: 85.300 abs_alt: 460.1]\n\n"
SONY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.20">
  <Device manufacturer="Sony" modelName="ILCE-7SM3" serialNo="4294967295"/>
  <AcquisitionRecord><Group name="CameraUnitMetadataSet">
    <Item name="CaptureGammaEquation" value="s-log3-cine"/>
  </Group></AcquisitionRecord>
</NonRealTimeMeta>
"""


def test_sidecars_stay_home_and_what_they_say_goes_with_their_video(server, tmp_path):
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "DJI_0001.MP4").write_bytes(b"d" * 2000)
    (folder / "DJI_0001.SRT").write_text(DJI_SRT)
    (folder / "DJI_0001.LRF").write_bytes(b"proxy" * 100)  # a playable MP4 in real life
    (folder / "DJI_0001.THM").write_bytes(b"thumb")
    (folder / "C0001.MP4").write_bytes(b"s" * 2000)
    (folder / "C0001M01.XML").write_text(SONY_XML)
    (folder / "plain.mov").write_bytes(b"p" * 2000)
    report = upload_directory(folder, server.url, TOKEN, state_file=tmp_path / "state.json")
    assert sorted(p.name for p in report.uploaded) == ["C0001.MP4", "DJI_0001.MP4", "plain.mov"]
    sent = {u.metadata["filename"]: u.metadata for u in server.completed}
    assert json.loads(sent["DJI_0001.MP4"]["sidecar"]) == {"relative_altitude_m": 85.3}
    assert json.loads(sent["C0001.MP4"]["sidecar"]) == {
        "capture_gamma": "s-log3-cine",
        "log_profile": "S-Log3",
    }
    assert "sidecar" not in sent["plain.mov"]


def test_the_attestation_travels_with_each_upload(server, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.mp4").write_bytes(b"a" * 1000)
    upload_directory(tmp_path / "mine", server.url, TOKEN, state_file=tmp_path / "s.json")
    (tmp_path / "mine" / "b.mp4").write_bytes(b"b" * 1000)
    upload_directory(
        tmp_path / "mine", server.url, TOKEN, state_file=tmp_path / "s.json", attest=True
    )
    attested = {u.metadata["filename"]: u.metadata.get("attest") for u in server.completed}
    assert attested == {"a.mp4": None, "b.mp4": "1"}


def test_an_attestation_or_sidecar_facts_added_on_a_rerun_are_not_lost_by_resuming(
    server, tmp_path
):
    folder = tmp_path / "card"
    folder.mkdir()
    data = hashlib.shake_256(b"drone").digest(4 * CHUNK)
    (folder / "DJI_0001.MP4").write_bytes(data)
    state = tmp_path / "state.json"
    server.patches_allowed = 1  # interrupted, without --attest and before the .SRT was copied
    first = upload_directory(folder, server.url, TOKEN, state_file=state, chunk_size=CHUNK)
    assert first.failed and not server.completed

    server.patches_allowed = None
    (folder / "DJI_0001.SRT").write_text(DJI_SRT)
    again = upload_directory(
        folder, server.url, TOKEN, state_file=state, chunk_size=CHUNK, attest=True
    )
    assert [p.name for p in again.uploaded] == ["DJI_0001.MP4"]
    (upload,) = server.completed  # a fresh upload: tus took the metadata only at creation
    assert upload.metadata["attest"] == "1"
    assert json.loads(upload.metadata["sidecar"]) == {"relative_altitude_m": 85.3}
    assert upload.data_path.read_bytes() == data


def test_outtake_upload_asks_once_or_takes_attest(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from outtake.cli import app

    calls = []

    def fake_upload(directory, server, token, *, select=None, console=None, attest=False):
        calls.append(attest)
        return client.UploadReport()

    monkeypatch.setattr(client, "upload_directory", fake_upload)
    args = ["upload", str(tmp_path), "--server", "http://x", "--token", "t"]
    runner = CliRunner()
    refused = runner.invoke(app, args)  # no terminal to ask on, and no answer given
    assert refused.exit_code == 2 and "--attest" in refused.output and calls == []
    assert runner.invoke(app, [*args, "--attest"]).exit_code == 0
    assert runner.invoke(app, [*args, "--no-attest"]).exit_code == 0
    monkeypatch.setattr("outtake.cli._can_ask", lambda: True)
    asked = runner.invoke(app, args, input="y\n")
    assert asked.exit_code == 0, asked.output
    assert "holds all rights" in asked.output and "Do you make these statements" in asked.output
    assert calls == [True, False, True]
