"""`make bench`: analysis time against PyAV's own single-thread decode, on footage made here.

Every measurement runs in a fresh child process with every library on one thread, so its
peak memory (ru_maxrss) is its own and its CPU time is not inflated by other work on the
machine; times are CPU seconds of that child. Then all cores analyse copies in a process pool
to give minutes of footage per wall-clock minute.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from outtake.media.analysis import benchmedia

_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _one_thread() -> None:
    for name in _ONE_THREAD:
        os.environ[name] = "1"
    import cv2

    cv2.setNumThreads(1)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _decode_all(path: str) -> dict[str, Any]:
    _one_thread()
    import av

    start = _cpu()
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        frames = sum(1 for _ in container.decode(stream))
    return {"cpu": _cpu() - start, "frames": frames, "rss_mb": _maxrss_mb()}


def _analyse(path: str) -> dict[str, Any]:
    _one_thread()
    from outtake.media.analysis.analyse import analyse

    start, wall = _cpu(), time.perf_counter()
    result = analyse(path, threads=1)
    cpu, wall = _cpu() - start, time.perf_counter() - wall
    # Steps time themselves by the clock: scale them to the child's CPU time so they add up.
    steps = {name: s["seconds"] * cpu / wall for name, s in result["stats"].items()}
    return {"cpu": cpu, "steps": steps, "rss_mb": _maxrss_mb()}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(function, path: Path) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, str(path)).result()


def _all_cores(path: Path, copies: int) -> float:
    """Minutes of footage analysed per wall-clock minute with one process per core."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
        start = time.perf_counter()
        list(pool.map(_analyse, [str(path)] * copies))
        return time.perf_counter() - start


def measure(name: str, path: Path, seconds: float, copies: int) -> dict[str, Any]:
    baseline = _in_child(_decode_all, path)
    analysis = _in_child(_analyse, path)
    wall = _all_cores(path, copies) if copies else None
    return {
        "name": name,
        "seconds": seconds,
        "baseline": baseline,
        "analysis": analysis,
        "footage_per_minute": copies * seconds / wall if wall else None,
    }


def table(rows: list[dict[str, Any]]) -> Table:
    out = Table(title="Analysis vs PyAV single-thread full decode (CPU seconds, one thread)")
    out.add_column("measure")
    for row in rows:
        out.add_column(row["name"], justify="right")
    steps = list(dict.fromkeys(s for row in rows for s in row["analysis"]["steps"]))
    for step in steps:
        out.add_row(f"step {step}", *(f"{r['analysis']['steps'].get(step, 0):.2f}" for r in rows))
    lines = {
        "analysis total": lambda r: f"{r['analysis']['cpu']:.2f}",
        "baseline decode": lambda r: f"{r['baseline']['cpu']:.2f}",
        "ratio (≤ 1.0 is the target)": lambda r: (
            f"{r['analysis']['cpu'] / r['baseline']['cpu']:.2f}"
        ),
        "realtime multiple": lambda r: f"{r['seconds'] / r['analysis']['cpu']:.1f}×",
        "peak memory analysis / decode": lambda r: (
            f"{r['analysis']['rss_mb']:.0f} / {r['baseline']['rss_mb']:.0f} MB"
        ),
        f"all {os.cpu_count()} cores: footage min per min": lambda r: (
            f"{r['footage_per_minute']:.1f}" if r["footage_per_minute"] else "–"
        ),
    }
    for label, cell in lines.items():
        out.add_row(label, *(cell(r) for r in rows))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="of the 1080p H.264 input")
    parser.add_argument("--uhd-seconds", type=float, default=20, help="of 4K HEVC; 0 skips it")
    parser.add_argument("--copies", type=int, default=4, help="files for the all-cores run")
    parser.add_argument("--workdir", type=Path, help="keep inputs here (made when missing)")
    args = parser.parse_args(argv)
    # Here too, not only in _one_thread: a spawned child imports numpy (this module's imports)
    # before it runs, and OpenBLAS reads its thread count when numpy is imported.
    os.environ.update(dict.fromkeys(_ONE_THREAD, "1"))
    console = Console()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="outtake-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    inputs = [("1080p30 H.264 8 Mb/s", benchmedia.h264_1080p(args.seconds))]
    if args.uhd_seconds:
        inputs.append(("4K HEVC 10-bit", benchmedia.hevc_4k_10bit(args.uhd_seconds)))
    rows = []
    try:
        for name, spec in inputs:
            path = work / f"{spec.codec}_{spec.height}p_{spec.seconds:g}s.mp4"
            if not path.exists():
                # Renamed only once whole, so an interrupted encode is never kept as input.
                partial = path.with_name(f"{path.stem}.partial{path.suffix}")
                with console.status(f"encoding {name}, {spec.seconds:g} s"):
                    benchmedia.write(partial, spec)
                partial.replace(path)
            with console.status(f"measuring {name}"):
                rows.append(measure(name, path, spec.seconds, args.copies))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(table(rows))


if __name__ == "__main__":
    main()
