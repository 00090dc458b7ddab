"""`make bench-package`: packaging throughput against `tar` writing the same bytes.

One clip (~100 MB, 720p H.264 with grain so it does not compress away) is encoded once with
PyAV; unique copies of it (a trailing ISO BMFF `free` box with the copy's number, so every
original has its own SHA-256) make a delivery of at least 2 GB needing no re-encode, kept in a
local blob store as uploads are. Then, in the same run and on the same disk, `tar` and the
package path take turns, RUNS times each: `tar` writes the originals into one archive; the
package path is what delivery.services._build_into does for a local store, less the license
documents (a fixed cost, not one per byte): delivery.package.write_samples in a pool of worker
processes (stream-copy cut, XMP, C2PA signing, each member and each shard hashed with SHA-256
as written), the Parquet index, MANIFEST.sha256 and its signature, and every file moved into
the store. Throughput is bytes of originals per second; the table gives the medians of the
turns, the load average, and the memory of all packaging processes sampled through the run, so
memory that grows with the number of clips shows. Pure Python: no Django.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import struct
import subprocess
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from rich.console import Console
from rich.table import Table

from outtake.core.terms import default_terms
from outtake.delivery.package import SampleSpec, write_index, write_samples
from outtake.provenance.c2pa_sign import Signer
from outtake.provenance.signing import dumps_canonical, sign_detached
from outtake.provenance.xmp import RightsXmp, data_mining_value
from outtake.storage import BlobStore

WIDTH, HEIGHT, FPS = 1280, 720, 30


def encode_clip(path: Path, target_bytes: int) -> Path:
    """A noisy 720p30 H.264 clip of about target_bytes, keyframe every 2 s."""
    rng = np.random.default_rng(7)
    grain = [rng.integers(0, 64, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(8)]
    ramp = np.linspace(0, 160, WIDTH, dtype=np.uint8)[None, :, None]
    base = np.broadcast_to(ramp, (HEIGHT, WIDTH, 3))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        stream.options = {"preset": "ultrafast", "crf": "20", "g": str(2 * FPS)}
        n = 0
        written = 0
        while written < target_bytes:
            pixels = np.roll(base, 4 * n, axis=1) + grain[n % len(grain)]
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                written += packet.size
                out.mux(packet)
            n += 1
        for packet in stream.encode():
            out.mux(packet)
    return path


def unique_copies(clip: Path, folder: Path, count: int) -> list[Path]:
    """Copies of clip, each ending in a `free` box naming the copy: distinct SHA-256s."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"original-{i:04d}.mp4"
        shutil.copyfile(clip, path)
        with open(path, "ab") as fh:
            tag = f"outtake bench copy {i}".encode()
            fh.write(struct.pack(">I", 8 + len(tag)) + b"free" + tag)
        paths.append(path)
    return paths


def _specs(originals: list[Path]) -> list[SampleSpec]:
    states = default_terms()["uses"]
    specs = []
    for i, path in enumerate(originals):
        key = f"bench-{i:04d}"
        specs.append(
            SampleSpec(
                key=key,
                kind="video",
                source=path,
                ext=".mp4",
                start_s=0.0,
                end_s=None,
                labels={"bench": True},
                provenance={
                    "clip_id": key,
                    "asset_id": f"asset-{i}",
                    "creator": "creator-bench",
                    "original_sha256": "",
                    "license_id": "bench",
                },
                states=states,
                xmp=RightsXmp(
                    data_mining=data_mining_value(states),
                    usage_terms="Benchmark only.",
                    web_statement="https://outtake.invalid/licenses/bench/",
                    licensor="Outtake",
                    creator="creator-bench",
                    model_release_status="MR-NAP",
                ),
                license_assertion={"license": "bench", "clip": key},
            )
        )
    return specs


def _packaging_pids() -> list[int]:
    """This process and its descendants (the worker pool's fork server and workers)."""
    pids, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                with open(f"{task.path}/children") as fh:
                    todo.extend(int(child) for child in fh.read().split())
        except OSError:
            continue  # it ended while we looked
    return pids


def _memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) of one process in MB; PSS shares pages among the processes mapping them."""
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                name, _, rest = line.partition(":")
                if name in ("Pss", "Rss"):
                    values[name] = int(rest.split()[0]) / 1e3
    except OSError:
        return 0.0, 0.0
    return values.get("Pss", 0.0), values.get("Rss", 0.0)


class _MemorySampler(threading.Thread):
    """Memory of all packaging processes every 0.1 s: (summed PSS, largest single RSS).
    `cpu` is its own CPU time, which is not the packaging's."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.cpu = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            sizes = [_memory_mb(pid) for pid in _packaging_pids()]
            self.samples.append((sum(p for p, _ in sizes), max(r for _, r in sizes)))
            self.cpu = time.thread_time()

    def stop(self) -> None:
        self._done.set()
        self.join()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fsync(*paths: Path) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def time_tar(originals: list[Path], target: Path, durable: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `tar` writing the originals into one archive (durable:
    until it is on disk)."""
    start, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(
        ["tar", "-cf", str(target), "-C", str(originals[0].parent), *[p.name for p in originals]],
        check=True,
    )
    if durable:
        _fsync(target)
    return time.perf_counter() - start, _child_cpu() - cpu


def package(
    originals: list[Path], out: Path, store: BlobStore, signer: Signer, pki: Path, **options
) -> tuple[int, int, float, int]:
    """The package path of _build_into for a local store, less the license documents: shards,
    index, MANIFEST.sha256 and its signature, all moved into the store.
    (samples, shard bytes, the worker processes' CPU seconds, peak signing memory admitted)"""
    packaged = write_samples(_specs(originals), out, signer=signer, **options)
    write_index(packaged.rows, out / "index.parquet")
    files = {f"shards/{s.name}": s.sha256 for s in packaged.shards}
    files["index.parquet"] = hashlib.sha256((out / "index.parquet").read_bytes()).hexdigest()
    sums = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items())).encode()
    (out / "MANIFEST.sha256").write_bytes(sums)
    (out / "MANIFEST.sha256.sig").write_bytes(dumps_canonical(sign_detached(pki, sums)))
    for path in [*files, "MANIFEST.sha256", "MANIFEST.sha256.sig"]:
        store.put_file(f"deliveries/bench/{path}", out / path, move=True)
    size = sum(s.size for s in packaged.shards)
    return len(packaged.rows), size, packaged.worker_cpu_s, packaged.peak_signing_bytes


def time_package(
    originals: list[Path],
    work: Path,
    store: BlobStore,
    signer: Signer,
    sampler: _MemorySampler,
    durable: bool,
    **options,
):
    """Wall and CPU seconds (this process's threads but the sampler's, and the workers'),
    samples, shard bytes (durable: until every file is on disk), peak signing memory."""
    start, cpu, sampler_cpu = time.perf_counter(), time.process_time(), sampler.cpu
    samples, size, worker_cpu, signing = package(
        originals, work / "package", store, signer, work / "pki", **options
    )
    if durable:
        _fsync(*(p for p in (work / "store" / "deliveries").rglob("*") if p.is_file()))
    cpu = time.process_time() - cpu - (sampler.cpu - sampler_cpu) + worker_cpu
    return time.perf_counter() - start, cpu, samples, size, signing


def _clean(*paths: Path) -> None:
    """Remove the last turn's output and put the removal on disk, outside the timed part: only
    the folders it removed from are synced, never the whole machine (others work on it)."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    _fsync(*{path.parent for path in paths})


def run(
    work: Path,
    total_bytes: int,
    clip_bytes: int,
    shard_bytes: int,
    workers: int,
    runs: int,
    durable: bool = False,
    memory_mb: int = 2048,
) -> dict:
    store = BlobStore(f"file://{work / 'store'}")
    clip = encode_clip(work / "clip.mp4", clip_bytes)
    count = max(1, -(-total_bytes // clip.stat().st_size))
    originals = unique_copies(clip, work / "store" / "originals", count)
    # On disk before the first turn, so their write-back does not fall into its timing.
    _fsync(clip, *originals)
    size = sum(p.stat().st_size for p in originals)
    signer = Signer(work / "pki")
    options = {"shard_bytes": shard_bytes, "workers": workers, "memory_budget": memory_mb << 20}
    # The worker pool's fork server starts once per process (a queue worker keeps it).
    start = time.perf_counter()
    write_samples([], work / "warm-up", signer=signer, **options)
    pool_start_s = time.perf_counter() - start
    sampler = _MemorySampler()
    turns = []
    for _ in range(runs):
        _clean(work / "originals.tar", work / "package", work / "store" / "deliveries")
        load = os.getloadavg()[0]
        tar_s, tar_cpu = time_tar(originals, work / "originals.tar", durable)
        tar_bytes = (work / "originals.tar").stat().st_size
        _clean(work / "originals.tar")
        if not sampler.is_alive():
            sampler.start()
        package_s, package_cpu, samples, package_bytes, signing = time_package(
            originals, work, store, signer, sampler, durable, **options
        )
        if samples != count or package_bytes < size:
            raise RuntimeError(f"the package holds {samples} of {count} clips")
        turns.append(
            {
                "tar_s": tar_s,
                "tar_cpu": tar_cpu,
                "package_s": package_s,
                "package_cpu": package_cpu,
                "load": (load + os.getloadavg()[0]) / 2,
                "signing_mb": signing / 2**20,
            }
        )
    sampler.stop()
    _clean(work / "package", work / "store" / "deliveries")
    tenth = max(1, len(sampler.samples) // 10)
    pss = [p for p, _ in sampler.samples] or [0.0]
    median = {k: statistics.median(t[k] for t in turns) for k in turns[0]}
    return {
        "clips": count,
        "clip_mb": clip.stat().st_size / 1e6,
        "bytes": size,
        "tar_bytes": tar_bytes,
        "package_bytes": package_bytes,
        "workers": workers,
        "memory_mb": memory_mb,
        "cores": os.cpu_count(),
        "durable": durable,
        "pool_start_s": pool_start_s,
        "turns": turns,
        **median,
        "ratio_wall": statistics.median(t["tar_s"] / t["package_s"] for t in turns),
        "ratio_cpu": statistics.median(t["tar_cpu"] / t["package_cpu"] for t in turns),
        "pss_peak_mb": max(pss),
        "pss_first_mb": max(pss[:tenth]),
        "pss_last_mb": max(pss[-tenth:]),
        "rss_process_peak_mb": max((r for _, r in sampler.samples), default=0.0),
    }


def table(r: dict) -> Table:
    t = Table(
        title=f"{r['clips']} clips of {r['clip_mb']:.0f} MB, {r['bytes'] / 1e9:.2f} GB; "
        f"{len(r['turns'])} turns each, medians; {r['workers']} workers on {r['cores']} cores"
        + ("; each until its files are on disk (fsync)" if r["durable"] else "")
    )
    t.add_column("measure")
    t.add_column("tar", justify="right")
    t.add_column("package (cut + XMP + C2PA + SHA-256 + index)", justify="right")
    t.add_row("wall seconds", f"{r['tar_s']:.2f}", f"{r['package_s']:.2f}")
    t.add_row("CPU seconds (all processes)", f"{r['tar_cpu']:.2f}", f"{r['package_cpu']:.2f}")
    t.add_row(
        "CPU seconds per 100 MB",
        *(f"{r[k] / r['bytes'] * 1e8:.3f}" for k in ("tar_cpu", "package_cpu")),
    )
    t.add_row("bytes written", f"{r['tar_bytes']:,}", f"{r['package_bytes']:,}")
    t.add_row(
        "MB/s of originals",
        f"{r['bytes'] / r['tar_s'] / 1e6:.0f}",
        f"{r['bytes'] / r['package_s'] / 1e6:.0f}",
    )
    t.add_row("throughput ratio, wall (≥ 0.7 is the target)", "1.00", f"{r['ratio_wall']:.2f}")
    t.add_row(
        "  each turn",
        "",
        " / ".join(f"{x['tar_s'] / x['package_s']:.2f}" for x in r["turns"]),
    )
    t.add_row("throughput ratio, CPU", "1.00", f"{r['ratio_cpu']:.2f}")
    t.add_row(
        "load average (1 min) during the turns",
        "",
        " / ".join(f"{x['load']:.1f}" for x in r["turns"]),
    )
    t.add_row(
        "memory MB, all packaging processes (PSS): peak / first tenth / last tenth",
        "",
        f"{r['pss_peak_mb']:.0f} / {r['pss_first_mb']:.0f} / {r['pss_last_mb']:.0f}",
    )
    t.add_row("largest process RSS MB", "", f"{r['rss_process_peak_mb']:.0f}")
    t.add_row(
        f"signing memory admitted at once, peak MiB (budget {r['memory_mb']})",
        "",
        f"{r['signing_mb']:.0f}",
    )
    t.add_row("worker pool start, once per process (s)", "", f"{r['pool_start_s']:.2f}")
    return t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.1, help="size of the delivery")
    parser.add_argument("--clip-mb", type=float, default=100, help="size of the one clip")
    parser.add_argument("--shard-mb", type=float, default=1024, help="shard size")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3, help="turns of tar and of packaging")
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=2048,
        help="signing memory budget (OUTTAKE_PACKAGE_MEMORY_MB)",
    )
    parser.add_argument(
        "--durable", action="store_true", help="time both until their files are on disk (fsync)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="outtake-bench-package-"))
    try:
        result = run(
            work,
            int(args.gb * 1e9),
            int(args.clip_mb * 1e6),
            int(args.shard_mb * 1e6),
            args.workers,
            args.runs,
            args.durable,
            args.memory_mb,
        )
        Console().print(table(result))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
