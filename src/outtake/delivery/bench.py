"""`make bench-package`: packaging throughput against `tar` writing the same bytes.

One clip (~100 MB, 720p H.264 with grain so it does not compress away) is encoded once with
PyAV; unique copies of it (a trailing ISO BMFF `free` box with the copy's number, so every
original has its own SHA-256) make a delivery of at least 2 GB needing no re-encode. Then, in the
same run and on the same disk: `tar` writes the originals into one archive, and the package
path (delivery.package.write_samples: stream-copy cut, XMP, C2PA signing straight into the
shard, per-member and per-shard SHA-256) writes them into WebDataset shards. Throughput is
bytes of originals per second; peak RSS is sampled while packaging, so memory that grows with
the number of clips shows. Pure Python: no Django.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
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
from outtake.delivery.package import SampleSpec, write_samples
from outtake.provenance.c2pa_sign import Signer
from outtake.provenance.xmp import RightsXmp, data_mining_value

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


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class _RssSampler(threading.Thread):
    """Peak resident memory over the packaging run, and at its first and last tenth."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.samples.append(_rss_mb())

    def stop(self) -> None:
        self._done.set()
        self.join()


def _flush() -> None:
    """Both runs start with the written data still to reach the disk: flush between them."""
    os.sync()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_tar(originals: list[Path], target: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `tar` writing the originals into one archive."""
    start, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(
        ["tar", "-cf", str(target), "-C", str(originals[0].parent), *[p.name for p in originals]],
        check=True,
    )
    return time.perf_counter() - start, _child_cpu() - cpu


def time_package(originals: list[Path], folder: Path, pki: Path, shard_bytes: int):
    """Wall and CPU seconds (all threads) of the package path, its output and RSS samples."""
    signer = Signer(pki)
    sampler = _RssSampler()
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    rows, shards = write_samples(_specs(originals), folder, shard_bytes, signer)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    sampler.stop()
    return elapsed, cpu, rows, shards, sampler.samples


def run(work: Path, total_bytes: int, clip_bytes: int, shard_bytes: int) -> dict:
    clip = encode_clip(work / "clip.mp4", clip_bytes)
    count = max(1, -(-total_bytes // clip.stat().st_size))
    originals = unique_copies(clip, work / "originals", count)
    size = sum(p.stat().st_size for p in originals)
    _flush()
    tar_s, tar_cpu = time_tar(originals, work / "originals.tar")
    tar_bytes = (work / "originals.tar").stat().st_size
    (work / "originals.tar").unlink()
    _flush()
    package_s, package_cpu, rows, shards, rss = time_package(
        originals, work / "package", work / "pki", shard_bytes
    )
    shard_total = sum(s.size for s in shards)
    if len(rows) != count or shard_total < size:
        raise RuntimeError(f"the package holds {len(rows)} of {count} clips, {shard_total} bytes")
    tenth = max(1, len(rss) // 10)
    return {
        "clips": count,
        "clip_mb": clip.stat().st_size / 1e6,
        "bytes": size,
        "tar_s": tar_s,
        "tar_cpu": tar_cpu,
        "tar_bytes": tar_bytes,
        "package_s": package_s,
        "package_cpu": package_cpu,
        "load": os.getloadavg()[0],
        "package_bytes": shard_total,
        "shards": len(shards),
        "samples": len(rows),
        "rss_peak_mb": max(rss, default=_rss_mb()),
        "rss_first_mb": max(rss[:tenth], default=0.0),
        "rss_last_mb": max(rss[-tenth:], default=0.0),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
    }


def table(r: dict) -> Table:
    t = Table(title=f"{r['clips']} clips of {r['clip_mb']:.0f} MB, {r['bytes'] / 1e9:.2f} GB")
    t.add_column("measure")
    t.add_column("tar", justify="right")
    t.add_column("package (cut + XMP + C2PA + SHA-256)", justify="right")
    t.add_row("wall seconds", f"{r['tar_s']:.2f}", f"{r['package_s']:.2f}")
    t.add_row("CPU seconds", f"{r['tar_cpu']:.2f}", f"{r['package_cpu']:.2f}")
    t.add_row("bytes written", f"{r['tar_bytes']:,}", f"{r['package_bytes']:,}")
    t.add_row(
        "MB/s of originals",
        f"{r['bytes'] / r['tar_s'] / 1e6:.0f}",
        f"{r['bytes'] / r['package_s'] / 1e6:.0f}",
    )
    t.add_row(
        "throughput ratio, wall (≥ 0.7 is the target)", "1.00", f"{r['tar_s'] / r['package_s']:.2f}"
    )
    t.add_row("throughput ratio, CPU", "1.00", f"{r['tar_cpu'] / r['package_cpu']:.2f}")
    t.add_row("load average (1 min) at the end", "", f"{r['load']:.1f}")
    t.add_row(
        "RSS MB: peak / first tenth / last tenth",
        "",
        f"{r['rss_peak_mb']:.0f} / {r['rss_first_mb']:.0f} / {r['rss_last_mb']:.0f}",
    )
    return t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.1, help="size of the delivery")
    parser.add_argument("--clip-mb", type=float, default=100, help="size of the one clip")
    parser.add_argument("--shard-mb", type=float, default=1024, help="shard size")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="outtake-bench-package-"))
    try:
        result = run(work, int(args.gb * 1e9), int(args.clip_mb * 1e6), int(args.shard_mb * 1e6))
        Console().print(table(result))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
