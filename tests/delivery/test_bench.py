"""`make bench-package` at a tiny size, so the bench keeps working between its real runs."""

from __future__ import annotations

from rich.console import Console

from outtake.delivery import bench


def test_bench_package_runs_and_reports_its_table(tmp_path):
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
    console = Console(record=True, width=200)
    console.print(bench.table(result))
    text = console.export_text()
    assert "throughput ratio, wall" in text and "load average" in text and "fsync" in text
