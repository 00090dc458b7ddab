"""`outtake upload --only-sellable` sends only what the scan values."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from outtake.cli import app
from outtake.uploads.client import UploadReport


def test_only_files_the_scan_values_are_selected(tmp_path, monkeypatch):
    worth, worthless = tmp_path / "a.mp4", tmp_path / "b.mp4"
    worth.write_bytes(b"a")
    worthless.write_bytes(b"b")
    report = {
        "files": [
            {"path": str(worth.resolve()), "value_minor": 150},
            {"path": str(worthless.resolve()), "value_minor": 0},
        ]
    }
    monkeypatch.setattr("outtake.media.scan.scan", lambda directory: report)
    chosen: list[Path] = []

    def upload(directory, server, token, *, select=None, console=None, attest=False):
        chosen.extend(p for p in (worth, worthless) if select(p))
        return UploadReport(uploaded=list(chosen))

    monkeypatch.setattr("outtake.uploads.client.upload_directory", upload)
    result = CliRunner().invoke(
        app,
        [
            "upload",
            str(tmp_path),
            "--server",
            "http://x",
            "--token",
            "t",
            "--only-sellable",
            "--attest",
        ],
    )
    assert result.exit_code == 0, result.output
    assert chosen == [worth]
