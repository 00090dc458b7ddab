"""`make bench-dedup`: the matcher's robustness per transform, and the index at scale.

Robustness: every transform of media/dedup/transforms.py is applied with PyAV to each fixture
video (the whole file) and photo; each copy is matched against every source at the default
thresholds. Recall is the share of copies that match their own source; a false match is a copy
matching another source. The ThreatExchange "modes" photos (one picture saved in unusual
modes) must match one another and nothing else.

Scale: an index of N random 256-bit hashes plus planted near copies of the queries, searched
at the default frame radius per frame hash (one query) and per 60-s clip (60 frames × 4
variants, as the catalogue queries), beside a brute-force scan of the same hashes in the same
run; both must find the same planted entries. One process, numpy on one thread; times are
the process's CPU time, so other work on the machine does not count.

    python -m outtake.media.dedup.bench [--sizes 1000000,10000000] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from outtake.media.dedup.hashes import frame_variants, hash_media
from outtake.media.dedup.index import HashIndex, brute_force
from outtake.media.dedup.matcher import Signature, Thresholds, frame_distances, match_clips
from outtake.media.dedup.transforms import TRANSFORMS, transform_photo, transform_video

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures"
VIDEOS = ("bigbuckbunny.mp4", "bikes.mp4", "te-pattern-hd-no-bar.mp4", "te-doorknob-hd-no-bar.mp4")
PHOTOS = ("astronaut.png", "coffee.png")
# Float and 32-bit integer modes lose the picture when converted to RGB.
UNREADABLE_MODES = ("F", "I")
CLIP_FRAMES = 60  # a 60-s clip sampled at 1 fps
QUERY_VARIANTS = 4


def _flat(frames_by_shot: list[dict[str, Any]], key: object) -> Signature:
    return Signature.from_frames([f for shot in frames_by_shot for f in shot["frames"]], key)


def _photo_signature(picture: np.ndarray, key: object) -> Signature:
    _, hashes = frame_variants(picture)
    return Signature.from_frames([{"t": 0.0, "h": [h.hex() for h in hashes]}], key)


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def robustness(thresholds: Thresholds, workdir: Path) -> list[dict[str, Any]]:
    """One row per transform: copies matched to their source, false matches, frame distances."""
    videos = {name: _flat(hash_media(FIXTURES / "video" / name), name) for name in VIDEOS}
    photos = {name: _rgb(FIXTURES / "photo" / name) for name in PHOTOS}
    photo_sources = {name: _photo_signature(p, name) for name, p in photos.items()}
    rows = []
    for number, transform in enumerate(TRANSFORMS):
        row: dict[str, Any] = {"transform": transform, "video_hits": 0, "video_total": 0}
        row.update(photo_hits=0, photo_total=0, false_matches=0, distances=[], missed=[])
        for name, source in videos.items():
            target = workdir / f"{number}-{name}"
            copy = _flat(
                hash_media(transform_video(FIXTURES / "video" / name, target, transform)), name
            )
            target.unlink()
            row["video_total"] += 1
            if match_clips(copy, source, thresholds) is not None:
                row["video_hits"] += 1
            else:
                row["missed"].append(Path(name).stem)
            row["false_matches"] += sum(
                match_clips(copy, other, thresholds) is not None
                for key, other in videos.items()
                if key != name
            )
            if len(copy):
                row["distances"] += frame_distances(copy, source).min(axis=1).tolist()
        if TRANSFORMS[transform][1] == 1.0:  # a speed change leaves a photo as it is
            for name, picture in photos.items():
                copy = _photo_signature(transform_photo(picture, transform), name)
                row["photo_total"] += 1
                if match_clips(copy, photo_sources[name], thresholds) is not None:
                    row["photo_hits"] += 1
                else:
                    row["missed"].append(Path(name).stem)
                row["false_matches"] += sum(
                    match_clips(copy, other, thresholds) is not None
                    for key, other in photo_sources.items()
                    if key != name
                )
        rows.append(row)
    return rows


def modes_family(thresholds: Thresholds) -> dict[str, int]:
    """The ThreatExchange modes photos: pairs within the family that match, and matches with
    the unrelated photos and video frames (should be none)."""
    family = [
        _photo_signature(_rgb(p), p.name)
        for p in sorted((FIXTURES / "photo" / "modes").iterdir())
        if p.stem not in UNREADABLE_MODES
    ]
    others = [_photo_signature(_rgb(FIXTURES / "photo" / n), n) for n in PHOTOS]
    pairs = [(a, b) for i, a in enumerate(family) for b in family[i + 1 :]]
    return {
        "members": len(family),
        "pairs": len(pairs),
        "pairs_matched": sum(match_clips(a, b, thresholds) is not None for a, b in pairs),
        "unrelated_matches": sum(
            match_clips(a, b, thresholds) is not None for a in family for b in others
        ),
    }


# ---- scale -----------------------------------------------------------------------------------


def _flip(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Copies of hashes with `bits` distinct random bits flipped in each."""
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def _ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(
    size: int, radius: int, *, hash_queries: int = 200, clip_queries: int = 20, seed: int = 7
) -> dict[str, Any]:
    """Build an index of `size` hashes (random, plus planted near copies of the queries) and
    time queries against it and against a brute-force scan of the same hashes."""
    rng = np.random.default_rng(seed)
    clip_hashes = CLIP_FRAMES * QUERY_VARIANTS
    queries = rng.integers(0, 256, (hash_queries + clip_queries * clip_hashes, 32), np.uint8)
    # Each query has one planted copy within the radius (a re-encoded frame), a quarter of
    # them at the radius itself, the hardest case for the index.
    distances = rng.integers(0, radius + 1, len(queries))
    distances[::4] = radius
    planted = np.concatenate([_flip(queries[distances == d], d, rng) for d in range(radius + 1)])
    planted_from = np.concatenate([np.flatnonzero(distances == d) for d in range(radius + 1)])
    filler = rng.integers(0, 256, (size - len(planted), 32), np.uint8)
    hashes = np.concatenate([filler, planted])
    ids = np.arange(size, dtype=np.int64)
    planted_ids = dict(zip(planted_from.tolist(), range(len(filler), size), strict=True))
    del filler

    rss_before = _rss_mb()  # a peak: growth means the index's build needed more
    started = time.process_time()
    index = HashIndex(hashes, ids)
    build_s = time.process_time() - started
    del hashes
    index.search(queries[:1], radius)  # the probe masks, made once per radius

    per_hash, found_planted = [], 0
    for q in range(hash_queries):
        started = time.process_time()
        hits = index.search(queries[q : q + 1], radius)
        per_hash.append(time.process_time() - started)
        found_planted += planted_ids[q] in set(hits.ids.tolist())
    per_clip = []
    for c in range(clip_queries):
        block = queries[hash_queries + c * clip_hashes : hash_queries + (c + 1) * clip_hashes]
        started = time.process_time()
        index.search(block, radius)
        per_clip.append(time.process_time() - started)

    brute, brute_agrees = [], True
    for q in range(min(10, hash_queries)):
        started = time.process_time()
        scan = brute_force(index.words, queries[q : q + 1], radius)
        brute.append(time.process_time() - started)
        hits = index.search(queries[q : q + 1], radius)
        brute_agrees &= set(scan.ids.tolist()) == set(hits.ids.tolist())  # ids are row numbers
    hash_p50, hash_p99 = _ms(per_hash)
    clip_p50, clip_p99 = _ms(per_clip)
    brute_p50, _ = _ms(brute)
    return {
        "size": size,
        "radius": radius,
        "build_s": round(build_s, 1),
        "index_mb": round(index.nbytes / 2**20),
        "rss_growth_mb": round(_rss_mb() - rss_before),
        "hash_p50_ms": round(hash_p50, 2),
        "hash_p99_ms": round(hash_p99, 2),
        "clip_p50_ms": round(clip_p50, 1),
        "clip_p99_ms": round(clip_p99, 1),
        "brute_hash_ms": round(brute_p50, 1),
        # A clip's 240 hashes scanned one by one: measured per hash, multiplied.
        "brute_clip_s": round(brute_p50 * clip_hashes / 1000, 1),
        "planted_found": f"{found_planted}/{hash_queries}",
        "brute_force_agrees": brute_agrees,
    }


# ---- output ----------------------------------------------------------------------------------


def robustness_table(rows: list[dict[str, Any]], family: dict[str, int]) -> str:
    lines = [
        "| transform | videos matched | photos matched | false matches "
        "| closest frame distance p50 / max | missed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        d = row["distances"]
        spread = f"{statistics.median(d):.0f} / {max(d)}" if d else "–"
        photos = f"{row['photo_hits']}/{row['photo_total']}" if row["photo_total"] else "–"
        lines.append(
            f"| {row['transform']} | {row['video_hits']}/{row['video_total']} | {photos} "
            f"| {row['false_matches']} | {spread} | {', '.join(row['missed']) or '–'} |"
        )
    lines.append(
        f"\nThreatExchange modes family ({family['members']} pictures): "
        f"{family['pairs_matched']}/{family['pairs']} pairs match; "
        f"{family['unrelated_matches']} matches with unrelated photos."
    )
    return "\n".join(lines)


def scale_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| hashes | radius | build | index memory | per hash p50 / p99 | per 60-s clip p50 / p99 "
        "| brute force per hash / per clip | planted found | same as brute force |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['radius']} | {r['build_s']} s | {r['index_mb']} MB "
            f"| {r['hash_p50_ms']} / {r['hash_p99_ms']} ms "
            f"| {r['clip_p50_ms']} / {r['clip_p99_ms']} ms "
            f"| {r['brute_hash_ms']} ms / {r['brute_clip_s']} s | {r['planted_found']} "
            f"| {'yes' if r['brute_force_agrees'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="index sizes, comma-separated")
    parser.add_argument(
        "--radii", default=f"{Thresholds().frame_bits},35", help="search radii of the scale runs"
    )
    parser.add_argument("--clip-queries", type=int, default=20, help="60-s clips per run")
    parser.add_argument("--skip-robustness", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    thresholds = Thresholds()
    out = []
    if not args.skip_robustness:
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as workdir:
            rows = robustness(thresholds, Path(workdir))
        out.append(robustness_table(rows, modes_family(thresholds)))
        print(out[-1], flush=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        for radius in (int(r) for r in args.radii.split(",") if r):
            results.append(scale(size, radius, clip_queries=args.clip_queries))
            print(scale_table(results[-1:]), flush=True)
    if results:
        out.append(scale_table(results))
        print(out[-1])
    if args.markdown:
        args.markdown.write_text("\n\n".join(out) + "\n")


if __name__ == "__main__":
    main()
