"""`make bench-package` at a tiny size, so the bench keeps working between its real runs."""

from __future__ import annotations

from rich.console import Console

from outtake.delivery import bench


def test_bench_package_runs_and_reports_its_table(tmp_path, monkeypatch):
    def sync_everything() -> None:
        raise AssertionError("os.sync() flushes the whole shared machine")

    monkeypatch.setattr(bench.os, "sync", sync_everything)
    synced = []
    fsync = bench._fsync
    monkeypatch.setattr(bench, "_fsync", lambda *paths: synced.extend(paths) or fsync(*paths))
    result = bench.run(
        tmp_path,
        total_bytes=3_000_000,
        clip_bytes=1_000_000,
        shard_bytes=2_000_000,
        workers=2,
        runs=2,
        durable=True,
    )

    assert result["clips"] == len(list((tmp_path / "store" / "originals").iterdir())) >= 3
    assert len(result["turns"]) == 2
    assert result["package_bytes"] > result["bytes"]
    assert result["tar_s"] > 0 and result["package_cpu"] > 0 and result["ratio_wall"] > 0
    assert result["pss_peak_mb"] > 0
    assert 0 < result["signing_mb"] <= result["memory_mb"]
    # Instead, the files the bench wrote are put on disk one by one.
    assert set((tmp_path / "store" / "originals").iterdir()) <= set(synced)
    console = Console(record=True, width=200)
    console.print(bench.table(result))
    text = console.export_text()
    assert "throughput ratio, wall" in text and "load average" in text and "fsync" in text
    assert "signing memory admitted at once" in text
