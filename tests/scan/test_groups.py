"""The scanner groups near-duplicates inside the folder: each group shown once, valued once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from outtake.media import scan as scanner
from outtake.media.dedup.transforms import transform_video
from outtake.media.scan import STATE_NAME, ScanState, scan, sellable_paths, totals
from outtake.media.scan_report import render_html

FIXTURES = Path(__file__).parent.parent / "fixtures" / "video"


def test_a_re_encoded_sub_clip_is_grouped_under_its_source_and_counted_once(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in ("bikes.mp4", "bigbuckbunny.mp4"):
        shutil.copy(FIXTURES / name, folder / name)
    transform_video(FIXTURES / "bikes.mp4", folder / "export.mp4", "re-encode", end_s=8)

    report = scan(folder, jobs=2)
    files = {Path(e["path"]).name: e for e in report["files"]}
    assert set(files) == {"bikes.mp4", "bigbuckbunny.mp4", "export.mp4"}
    assert "frames" not in files["bikes.mp4"]  # hashes stay in the resume state only
    assert files["export.mp4"]["duplicate_of"] == files["bikes.mp4"]["path"]
    assert (
        "duplicate_of" not in files["bikes.mp4"] and "duplicate_of" not in files["bigbuckbunny.mp4"]
    )
    assert report["groups"] == [
        {
            "representative": files["bikes.mp4"]["path"],
            "near_duplicates": [files["export.mp4"]["path"]],
        }
    ]
    assert files["export.mp4"]["value_minor"] > 0  # worth something alone, but counted once
    counted = files["bikes.mp4"]["value_minor"] + files["bigbuckbunny.mp4"]["value_minor"]
    assert report["value_minor"] == counted
    assert abs(report["minutes"] * 60 - 10.0 - 5.28) < 0.1
    assert sellable_paths(report) <= {files["bikes.mp4"]["path"], files["bigbuckbunny.mp4"]["path"]}

    page = render_html(report)
    assert page.count("export.mp4") == 1  # not a row of its own
    assert "near-duplicates (value counted once): export.mp4" in page
    assert "in 2 files, 1 near-duplicate(s) grouped" in page

    again = scan(folder, jobs=1)  # resumed from the state, grouped the same way
    assert again["groups"] == report["groups"] and again["value_minor"] == counted


def test_totals_leave_out_marked_duplicates():
    clip = {"tier": "sd", "start_s": 0.0, "end_s": 60.0, "value_minor": 50}
    entries = [
        {"path": "/a", "kind": "video", "duration_s": 60.0, "clips": [clip], "value_minor": 50},
        {
            "path": "/b",
            "kind": "video",
            "duration_s": 60.0,
            "clips": [clip],
            "value_minor": 50,
            "duplicate_of": "/a",
        },
    ]
    report = totals(entries)
    assert report["value_minor"] == 50 and report["minutes"] == 1.0
    assert report["tiers"]["sd"]["clips"] == 1
    assert report["groups"] == [{"representative": "/a", "near_duplicates": ["/b"]}]


def test_a_file_stopped_for_time_or_memory_is_analysed_again_on_resume(tmp_path):
    media = tmp_path / "a.mp4"
    media.write_bytes(b"x")
    stat = media.stat()
    state = ScanState(tmp_path / STATE_NAME)
    entry = {"path": str(media.resolve()), "size_bytes": 1, "mtime_ns": stat.st_mtime_ns}
    state.record({**entry, "error": "damaged", "code": "not_decodable"})
    assert ScanState(tmp_path / STATE_NAME).done(media)["code"] == "not_decodable"
    # A scan killed mid-file records its killed child as out of memory just before dying.
    state.record({**entry, "error": "killed", "code": "out_of_memory"})
    assert ScanState(tmp_path / STATE_NAME).done(media) is None


def test_files_are_analysed_in_parallel_processes(tmp_path, monkeypatch):
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in ("bikes.mp4", "bigbuckbunny.mp4"):
        shutil.copy(FIXTURES / name, folder / name)
    paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    real, ran = scanner.run_isolated, []

    def timed(target, *args, **kwargs):
        result = real("timed_targets:timed_analyse_file", *args, **kwargs)
        ran.append((result.pop("ran"), result.pop("pid")))
        return result

    monkeypatch.setattr(scanner, "run_isolated", timed)
    report = scan(folder, jobs=2)
    assert not report["failed"] and len(report["files"]) == 2
    (first, one), (second, two) = ran
    assert one != two and os.getpid() not in (one, two)  # a child process each
    assert max(first[0], second[0]) < min(first[1], second[1])  # at the same time
