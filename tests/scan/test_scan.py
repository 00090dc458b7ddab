"""The archive scanner on real footage: true durations and sizes, sidecars skipped, resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from outtake.core.pricing import load_rate_card
from outtake.media.scan import STATE_NAME, find_media, totals, value
from outtake.media.scan_report import render_html

FIXTURES = Path(__file__).parent.parent / "fixtures" / "video"
TRUE = {"bigbuckbunny.mp4": (5.28, 1280, 720), "bikes.mp4": (10.0, 640, 272)}


def _scan(folder: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "outtake.cli", "scan", str(folder), "--jobs", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so the kill below also stops the file's sandboxed child
    )


def _recorded(state: Path) -> dict:
    try:
        return json.loads(state.read_text())["files"]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def test_scan_reports_true_facts_skips_sidecars_and_resumes_after_a_kill(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in TRUE:
        shutil.copy(FIXTURES / name, folder / name)
    # A DJI proxy is an MP4 under another name, as footage with unusual names is (.insv, .360),
    # which the scanner finds by content: only the sidecar rule keeps it out.
    (folder / "DJI_0001.LRF").write_bytes((FIXTURES / "bikes.mp4").read_bytes()[:4096])
    assert [p.name for p in find_media(folder)] == sorted(TRUE)
    state = folder / STATE_NAME

    first = _scan(folder)
    deadline = time.monotonic() + 120
    while not _recorded(state) and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    (done,) = _recorded(state).values()  # killed half-way: one file recorded

    out = tmp_path / "scan.json"
    second = _scan(folder, "--json", str(out), "--html", str(tmp_path / "scan.html"))
    _, errors = second.communicate(timeout=180)
    assert second.returncode == 0, errors.decode()
    report = json.loads(out.read_text())
    files = {Path(e["path"]).name: e for e in report["files"]}
    assert set(files) == set(TRUE)  # the .LRF sidecar is not footage
    resumed = files[Path(done["path"]).name]
    assert resumed["analysed_at"] == done["analysed_at"]  # not analysed again
    for name, (duration, width, height) in TRUE.items():
        entry = files[name]
        assert abs(entry["duration_s"] - duration) < 0.05
        assert (entry["width"], entry["height"]) == (width, height)
        assert entry["size_bytes"] == (FIXTURES / name).stat().st_size
        assert entry["clips"] and entry["value_minor"] >= 0
        assert entry["thumbnail"].startswith("data:image/jpeg;base64,")
    assert abs(report["minutes"] - sum(d for d, _, _ in TRUE.values()) / 60) < 0.01
    assert set(report["tiers"]) == {"720p", "sd"}
    page = (tmp_path / "scan.html").read_text()
    assert "<svg" in page and "data:image/jpeg;base64," in page and "bikes.mp4" in page


def test_footage_is_found_by_suffix_or_content_but_never_a_sidecar(tmp_path):
    mp4 = (FIXTURES / "bikes.mp4").read_bytes()[:4096]
    for name in ("VID_0001.insv", "GS010001.360", "DJI_0001.LRF", "GL010001.LRV", "a.mp4"):
        (tmp_path / name).write_bytes(mp4)
    (tmp_path / "notes.txt").write_text("not footage")
    (tmp_path / "DJI_0001.SRT").write_text("1\n00:00:00,000 --> 00:00:00,033\n")
    (tmp_path / ".hidden.mp4").write_bytes(mp4)
    found = [p.name for p in find_media(tmp_path)]
    assert found == ["GS010001.360", "VID_0001.insv", "a.mp4"]


def test_value_and_totals_follow_the_rate_card():
    analysis = {
        "probe": {"kind": "video", "width": 1920, "height": 1080, "fps": 25.0},
        "shots": [
            {"start_s": 0.0, "end_s": 60.0, "tags": [], "problems": [], "identifiable": 2},
            {
                "start_s": 60.0,
                "end_s": 70.0,
                "tags": [],
                "problems": [{"code": "black", "severity": "fail", "reason": "black"}],
                "identifiable": 0,
            },
        ],
    }
    clips = value(analysis, load_rate_card())
    assert [c["sellable"] for c in clips] == [True, False]
    assert clips[0]["value_minor"] == 150  # a minute of 1080p at 1.50
    entry = {
        "path": "/a.mp4",
        "kind": "video",
        "duration_s": 70.0,
        "clips": clips,
        "value_minor": 150,
        "people_needing_releases": 2,
    }
    report = totals([entry])
    assert report["tiers"]["1080p"]["value_minor"] == 150
    assert report["people_needing_releases"] == 2
    page = render_html(
        {
            **report,
            "currency": "USD",
            "files": [{**entry, "width": 1920, "height": 1080, "tags": [], "problems": []}],
        }
    )
    assert "1.50" in page and "releases needed" in page
