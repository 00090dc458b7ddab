"""`make bench-dedup`: the matcher's robustness per transform, its precision and recall per
threshold, and the index at scale.

Robustness: every transform of media/dedup/transforms.py is applied with PyAV to the whole of
each distinct fixture video (bigbuckbunny, bikes, the ThreatExchange pattern and doorknob
clips) and to each fixture photo; each copy is matched against every source at the default
thresholds. Recall is the share of copies that match their own source; a false match is a copy
matching a source of another family; a matched copy is offered both ways when the catalogue's
index search (its variants and radii) finds the source for the copy and the copy for the
source, as it must whichever was uploaded first. The ThreatExchange video "pattern" family
(one clip in five near-duplicate versions) and "modes" photos (one picture saved in unusual
modes) must match within the family and nothing else.

Precision and recall (--pr): the same matches at every frame threshold and minimum coverage
of a grid. Positives are the copies with their sources and the pairs within each family.
Negatives are every pair from different families (copies and sources), the first half of each
fixture video against the second half of it and of its family's others (the same scene at
other moments), and generated scenes: short clips (pan, zoom, tripod) hashed through the
analysis like footage, and photos in groups sharing their colours (a photo is one frame, so
two match when their frames are within the frame threshold).

Scale: an index as the catalogue stores it (index.INDEXED variants of random frames, entry id =
frame × variants + variant; saved, then loaded memory-mapped), plus one planted near copy of
every query within its radius, of a variant the matcher pairs it with. Timed per frame-hash
query (a full frame against every entry) and per 60-s clip (60 frames × 54 variants, searched
as the catalogue searches, all but full frames and mirrors within the region radius and the
query-only ones for every third frame, as index.candidate_search; or as lists are searched,
their whole-picture variants within one radius), beside a brute-force scan of the same entries
in the same run, per hash and per clip; both must find the same pairs. Each size and radius
runs in a fresh process (its memory figures are its own), numpy on one thread; times are the
process's CPU time, so other work on the machine counts only through the caches and memory
bandwidth it takes.

    python -m outtake.media.dedup.bench [--pr] [--sizes 1000000,10000000] [--radii 35/23,36]
        [--markdown FILE]
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

from outtake.media.dedup.hashes import (
    FIRST_QUADRANT,
    FIRST_QUERY_ONLY,
    PAIRED,
    frame_variants,
    hash_media,
)
from outtake.media.dedup.index import (
    CANDIDATE_BITS,
    INDEXED,
    QUERY_ONLY_EVERY,
    REGION_CANDIDATE_BITS,
    HashIndex,
    brute_force,
    candidate_search,
    catalogue_entries,
    entry_ids,
    frame_queries,
    frame_search,
    is_paired,
    thinned,
)
from outtake.media.dedup.matcher import (
    N_VARIANTS,
    Signature,
    Thresholds,
    frame_distances,
    match_clips,
)
from outtake.media.dedup.transforms import TRANSFORMS, transform_photo, transform_video

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures"
VIDEOS = ("bigbuckbunny.mp4", "bikes.mp4", "te-pattern-hd-no-bar.mp4", "te-doorknob-hd-no-bar.mp4")
PATTERN = (
    "te-pattern-hd-no-bar.mp4",
    "te-pattern-longer-no-bar.mp4",
    "te-pattern-sd-grey-bar.mp4",
    "te-pattern-sd-with-large-logo-bar.mp4",
    "te-pattern-sd-with-small-logo-bar.mp4",
)
PHOTOS = ("astronaut.png", "coffee.png")
# Float and 32-bit integer modes lose the picture when converted to RGB.
UNREADABLE_MODES = ("F", "I")
FRAME_BITS = tuple(range(24, 57, 4))
COVERAGES = (0.3, 0.4, 0.5, 0.6, 0.7)
CLIP_FRAMES = 60  # a 60-s clip sampled at 1 fps


# ---- the fixtures, their copies, and generated scenes ------------------------------------------


@dataclass
class Corpus:
    """Signatures by name, each name's family (what it is a copy of), and the copies made."""

    signatures: dict[str, Signature] = field(default_factory=dict)
    family: dict[str, str] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)  # video | photo
    copies: list[tuple[str, str, str]] = field(default_factory=list)  # (transform, copy, source)

    def add(self, name: str, signature: Signature, family: str, kind: str) -> None:
        self.signatures[name], self.family[name], self.kind[name] = signature, family, kind

    def sources(self) -> list[str]:
        copied = {copy for _, copy, _ in self.copies}
        return [name for name in self.signatures if name not in copied]


def _flat(frames_by_shot: list[dict[str, Any]], key: object) -> Signature:
    return Signature.from_frames([f for shot in frames_by_shot for f in shot["frames"]], key)


def _photo_signature(picture: np.ndarray, key: object) -> Signature:
    _, hashes = frame_variants(picture)
    return Signature.from_frames([{"t": 0.0, "h": [h.hex() for h in hashes]}], key)


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _stem(name: str) -> str:
    return Path(name).stem


def fixtures_and_copies(workdir: Path) -> Corpus:
    """Every fixture source and every transformed copy of the distinct ones."""
    corpus = Corpus()
    for name in dict.fromkeys(VIDEOS + PATTERN):
        family = "pattern" if name in PATTERN else _stem(name)
        corpus.add(_stem(name), _flat(hash_media(FIXTURES / "video" / name), name), family, "video")
    for name in PHOTOS:
        picture = _rgb(FIXTURES / "photo" / name)
        corpus.add(_stem(name), _photo_signature(picture, name), name, "photo")
    for path in sorted((FIXTURES / "photo" / "modes").iterdir()):
        if path.stem not in UNREADABLE_MODES:
            corpus.add(f"modes/{path.stem}", _photo_signature(_rgb(path), path), "modes", "photo")
    for number, transform in enumerate(TRANSFORMS):
        for name in VIDEOS:
            target = workdir / f"{number}-{name}"
            shots = hash_media(transform_video(FIXTURES / "video" / name, target, transform))
            target.unlink()
            copy = f"{_stem(name)} {transform}"
            corpus.add(copy, _flat(shots, copy), corpus.family[_stem(name)], "video")
            corpus.copies.append((transform, copy, _stem(name)))
        if TRANSFORMS[transform][1] != 1.0:
            continue  # a speed change leaves a photo as it is
        for name in PHOTOS:
            copy = f"{_stem(name)} {transform}"
            picture = transform_photo(_rgb(FIXTURES / "photo" / name), transform)
            corpus.add(copy, _photo_signature(picture, copy), name, "photo")
            corpus.copies.append((transform, copy, _stem(name)))
    return corpus


def _scene(
    rng: np.random.Generator, width: int, height: int, colours: np.ndarray | None = None
) -> np.ndarray:
    """An RGB picture of smooth colour (a grid of colours, cubic-scaled), blocks, discs and
    fine texture: the same recipe for every scene, as footage of one kind shares its look."""
    if colours is None:
        colours = _colours(rng)
    picture = cv2.resize(colours, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(4, 30))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(height // 20, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            cv2.rectangle(picture, (x, y), (x + size, y + size * 2 // 3), colour, -1)
        else:
            cv2.circle(picture, (x, y), size // 2, colour, -1)
    texture = rng.integers(-20, 21, (height // 4, width // 4, 1), np.int16)
    texture = cv2.resize(texture.astype(np.float32), (width, height))[..., None]
    return np.clip(picture.astype(np.float32) + texture, 0, 255).astype(np.uint8)


def _colours(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (int(rng.integers(2, 5)), int(rng.integers(2, 6)), 3), np.uint8)


# Generated photos come in groups sharing their smooth colour (one sky, one wall), differing
# in what stands in front of it: different pictures, alike to PDQ's coarse eye.
_PHOTO_GROUP = 10


def generated_photos(count: int, seed: int = 11) -> Signature:
    """count generated scenes, unrelated but alike in groups, as the frames of one signature
    (for their distances)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        if i % _PHOTO_GROUP == 0:
            colours = _colours(rng)
        _, hashes = frame_variants(_scene(rng, 512, 288, colours))
        frames.append({"t": float(i), "h": [h.hex() for h in hashes]})
    return Signature.from_frames(frames)


def generated_clips(count: int, workdir: Path, seed: int = 12) -> list[Signature]:
    """count unrelated 6-s clips (320×180, 25 fps): a camera panning or zooming over a scene,
    or holding still while a block crosses it; hashed by hash_media like footage."""
    rng = np.random.default_rng(seed)
    clips = []
    for number in range(count):
        scene = _scene(rng, 480, 270)
        kind, path = number % 3, workdir / f"scene-{number}.mp4"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
            stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
            for i in range(150):
                if kind == 0:  # a pan
                    x, y = i * 160 // 150, i * 90 // 150
                    picture = scene[y : y + 180, x : x + 320]
                elif kind == 1:  # a zoom in
                    margin = i * 0.3
                    box = scene[
                        round(margin * 0.56) : 270 - round(margin * 0.56),
                        round(margin) : 480 - round(margin),
                    ]
                    picture = cv2.resize(box, (320, 180), interpolation=cv2.INTER_AREA)
                else:  # a tripod shot with something crossing it
                    picture = scene[45:225, 80:400].copy()
                    cv2.rectangle(picture, (i * 2, 60), (i * 2 + 40, 120), (240, 240, 240), -1)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        clips.append(_flat(hash_media(path), path.name))
        path.unlink()
    return clips


# ---- robustness at the defaults, and precision / recall per threshold ----------------------------


def offered(query: Signature, held: Signature) -> bool:
    """Whether the catalogue's index holding held's frames offers held as a candidate to a
    search for query (index.candidate_search, as dedup.services.find_matches)."""
    index = HashIndex(*catalogue_entries(held.hashes, np.arange(len(held))))
    return len(candidate_search(index, query.hashes, Thresholds().frame_bits).ids) > 0


def robustness(corpus: Corpus, thresholds: Thresholds) -> list[dict[str, Any]]:
    """One row per transform: copies matched to their source, false matches, frame distances,
    and matched copies the catalogue's index offers as candidates whichever came first."""
    rows = []
    sources = corpus.sources()
    for transform in TRANSFORMS:
        row: dict[str, Any] = {"transform": transform, "distances": [], "missed": []}
        row.update(video_hits=0, video_total=0, photo_hits=0, photo_total=0, false_matches=0)
        row.update(offered=0)
        for _, copy, source_name in (c for c in corpus.copies if c[0] == transform):
            kind, family = corpus.kind[copy], corpus.family[copy]
            signature, source = corpus.signatures[copy], corpus.signatures[source_name]
            row[f"{kind}_total"] += 1
            if match_clips(signature, source, thresholds) is not None:
                row[f"{kind}_hits"] += 1
                row["offered"] += offered(signature, source) and offered(source, signature)
            else:
                row["missed"].append(source_name)
            row["false_matches"] += sum(
                match_clips(signature, corpus.signatures[other], thresholds) is not None
                for other in sources
                if corpus.family[other] != family
            )
            sampled = ~signature.extra
            if sampled.any():
                row["distances"] += frame_distances(signature, source)[sampled].min(axis=1).tolist()
        rows.append(row)
    return rows


def family(corpus: Corpus, name: str, thresholds: Thresholds) -> dict[str, Any]:
    """Pairs within a family that match, and its matches with unrelated sources."""
    members = [n for n in corpus.sources() if corpus.family[n] == name]
    others = [n for n in corpus.sources() if corpus.family[n] != name]
    s = corpus.signatures
    pairs = list(itertools.combinations(members, 2))
    missed = [(a, b) for a, b in pairs if match_clips(s[a], s[b], thresholds) is None]
    return {
        "name": name,
        "members": len(members),
        "pairs": len(pairs),
        "pairs_matched": len(pairs) - len(missed),
        "missed": missed,
        "unrelated_matches": sum(
            match_clips(s[a], s[b], thresholds) is not None for a in members for b in others
        ),
    }


@dataclass
class Sweep:
    """Counts per (frame bits, min coverage): true and false matches of the pairs."""

    positives: int = 0
    negatives: int = 0
    true: dict[tuple[int, float], int] = field(default_factory=dict)
    false: dict[tuple[int, float], int] = field(default_factory=dict)
    closest: dict[str, int] = field(default_factory=dict)  # negatives' closest frames by kind

    def count(self, a: Signature, b: Signature, positive: bool, kind: str = "fixtures") -> None:
        distances = frame_distances(a, b)
        if positive:
            self.positives += 1
        else:
            self.negatives += 1
            if distances.size:
                self.closest[kind] = min(self.closest.get(kind, 256), int(distances.min()))
        found = self.true if positive else self.false
        for bits, coverage in itertools.product(FRAME_BITS, COVERAGES):
            thresholds = Thresholds(frame_bits=bits, min_coverage=coverage)
            matched = match_clips(a, b, thresholds, distances) is not None
            found[bits, coverage] = found.get((bits, coverage), 0) + matched

    def count_photos(self, photos: Signature) -> None:
        """Every pair of one-frame scenes: a match when the frames are within the threshold."""
        n = len(photos)
        for start in range(0, n, 200):
            block = Signature(photos.times[start : start + 200], photos.hashes[start : start + 200])
            distances = frame_distances(block, photos)
            upper = np.arange(start, start + len(block))[:, None] < np.arange(n)[None, :]
            closest = distances[upper]
            kind = "generated photos"
            self.closest[kind] = min(self.closest.get(kind, 256), int(closest.min()))
            for bits, coverage in itertools.product(FRAME_BITS, COVERAGES):
                key = (bits, coverage)
                self.false[key] = self.false.get(key, 0) + int((closest <= bits).sum())
        self.negatives += n * (n - 1) // 2


def halves(signature: Signature) -> tuple[Signature, Signature]:
    """A clip's first and second half, a second apart: other moments of the same shot."""
    middle = (signature.times.min() + signature.times.max()) / 2
    first, second = signature.times < middle - 0.5, signature.times > middle + 0.5
    return (
        Signature(signature.times[first], signature.hashes[first]),
        Signature(signature.times[second], signature.hashes[second]),
    )


def precision_recall(corpus: Corpus, clips: list[Signature], photos: Signature | None) -> Sweep:
    """Each copy against its source (positive) and every source of another family (negative);
    every pair of sources; the first half of each video against the second half of each video
    of its family (the same scene at other moments: negatives); every pair of generated clips
    and of generated photos (negatives)."""
    sweep = Sweep()
    s = corpus.signatures
    videos = [n for n in corpus.sources() if corpus.kind[n] == "video"]
    for a, b in itertools.product(videos, videos):
        if corpus.family[a] == corpus.family[b]:
            sweep.count(halves(s[a])[0], halves(s[b])[1], False, "other moments of a shot")
    for _, copy, source in corpus.copies:
        sweep.count(s[copy], s[source], True)
        for other in corpus.sources():
            if corpus.family[other] != corpus.family[copy]:
                sweep.count(s[copy], s[other], False)
    for a, b in itertools.combinations(corpus.sources(), 2):
        sweep.count(s[a], s[b], corpus.family[a] == corpus.family[b])
    for a, b in itertools.combinations(clips, 2):
        sweep.count(a, b, False, "generated clips")
    if photos is not None:
        sweep.count_photos(photos)
    return sweep


# ---- scale -----------------------------------------------------------------------------------


def _flip(hashes: np.ndarray, distances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of hashes with distances[i] distinct random bits flipped in row i."""
    unpacked = np.unpackbits(hashes, axis=1)
    for row, bits in zip(unpacked, distances, strict=True):
        row[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def _ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """Resident memory now (memory-mapped pages the process touched included)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _pairs(query: np.ndarray, ids: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(query.tolist(), ids.tolist(), strict=True))


@dataclass
class ScaleInput:
    """Catalogue-like entries (hashes, ids), queries, and each query's planted entry id."""

    hashes: np.ndarray
    ids: np.ndarray
    per_hash: np.ndarray  # (H, 32) full-frame queries
    clips: np.ndarray  # (C, CLIP_FRAMES, N_VARIANTS, 32)
    planted: np.ndarray  # entry id planted for each per-hash query, then each clip query


def scale_input(
    size: int, radii: tuple[int, int | None], hash_queries: int, clip_queries: int, seed: int
) -> ScaleInput:
    """size entries: size // 9 random frames × INDEXED, with one entry per query searched for
    replaced by a near copy of it (a quarter of them exactly at the query's radius), of a
    variant the matcher pairs the query's with (hashes.PAIRED; a full frame for the per-hash
    queries). radii: _radii()'s. A query not searched for has planted -1: the lists' search
    asks no quadrants or query-only variants (absent), the catalogue's the query-only ones
    of every third frame only."""
    rng = np.random.default_rng(seed)
    frames = size // len(INDEXED)
    hashes = rng.integers(0, 256, (frames, len(INDEXED), 32), np.uint8)
    per_hash = rng.integers(0, 256, (hash_queries, 32), np.uint8)
    clips = rng.integers(0, 256, (clip_queries, CLIP_FRAMES, N_VARIANTS, 32), np.uint8)
    if radii[1] is None:
        clips[:, :, FIRST_QUADRANT:] = 0
    queries = np.concatenate([per_hash, clips.reshape(-1, 32)])
    numbers = np.concatenate([np.zeros(hash_queries, int), np.arange(clips[..., 0].size)])
    # Planted only where searched: a query-only variant of a frame that does not ask them
    # (index.candidate_search) is not.
    frame_asks = np.concatenate([thinned(clip, QUERY_ONLY_EVERY) for clip in clips])
    query_only = (np.arange(len(queries)) >= hash_queries) & (
        numbers % N_VARIANTS >= FIRST_QUERY_ONLY
    )
    searched = queries.any(axis=1)
    searched[query_only] &= frame_asks[numbers[query_only] // N_VARIANTS]
    asked = np.flatnonzero(searched)
    slot = rng.choice(frames, len(asked), replace=len(asked) > frames)
    partners = PAIRED[numbers[asked] % N_VARIANTS][:, INDEXED]  # (asked, INDEXED)
    kind = np.array([rng.choice(np.flatnonzero(row)) for row in partners])
    region = radii[0] if radii[1] is None else radii[1]
    radius = np.where(numbers[asked] % N_VARIANTS >= 2, region, radii[0])
    distances = rng.integers(0, radius + 1)
    distances[::4] = radius[::4]
    # More queries than frames (a small index): one planted copy per entry, the first.
    _, first = np.unique(slot * len(INDEXED) + kind, return_index=True)
    asked, slot, kind = asked[first], slot[first], kind[first]
    hashes[slot, kind] = _flip(queries[asked], distances[first], rng)
    planted = np.full(len(queries), -1, np.int64)
    planted[asked] = slot * N_VARIANTS + np.array(INDEXED)[kind]
    return ScaleInput(
        hashes.reshape(-1, 32), entry_ids(np.arange(frames)), per_hash, clips, planted
    )


def scale(
    size: int,
    radii: tuple[int, int | None],
    *,
    hash_queries: int = 1000,
    clip_queries: int = 100,
    brute_clips: int = 1,
    seed: int = 7,
) -> dict[str, Any]:
    """Build, save and load memory-mapped an index of size entries; time queries against it
    and against a brute-force scan of the same entries. Run it in a fresh process (main does):
    its memory figures are the process's own."""
    data = scale_input(size, radii, hash_queries, clip_queries, seed)
    rss_before = _rss_mb()
    started = time.process_time()
    built = HashIndex(data.hashes, data.ids)
    build_s = time.process_time() - started
    build_growth = _peak_rss_mb() - rss_before  # this process's peak: it runs alone in a child
    del data.hashes
    with tempfile.TemporaryDirectory(prefix="bench-dedup-index-") as folder:
        built.save(Path(folder))
        index_mb = built.nbytes / 2**20
        del built
        rss_loaded = _rss_mb()
        index = HashIndex.load(Path(folder))
        assert index is not None
        for radius in radii:  # the probe masks, made once per radius
            index.search(data.per_hash[:1], radius or radii[0])
        result = _time_queries(index, data, radii, brute_clips)
        serving_growth = _rss_mb() - rss_loaded
    hash_p50, hash_p99 = _ms(result["per_hash"])
    clip_p50, clip_p99 = _ms(result["per_clip"])
    return {
        "size": size,
        "radius": f"{radii[0]} (lists)" if radii[1] is None else f"{radii[0]} / {radii[1]}",
        "build_s": round(build_s, 1),
        "index_mb": round(index_mb),
        "rss_build_mb": round(build_growth),
        "rss_serving_mb": round(serving_growth),
        "hash_queries": hash_queries,
        "hash_p50_ms": round(hash_p50, 2),
        "hash_p99_ms": round(hash_p99, 2),
        "clip_queries": clip_queries,
        "clip_p50_ms": round(clip_p50, 1),
        "clip_p99_ms": round(clip_p99, 1),
        "brute_hash_ms": round(statistics.median(result["brute_hash"]) * 1000, 1),
        "brute_clips": len(result["brute_clip"]),
        "brute_clip_s": round(statistics.median(result["brute_clip"]), 1),
        "planted_found": f"{result['found']}/{int((data.planted >= 0).sum())}",
        "brute_force_agrees": result["agrees"],
    }


def _time_queries(
    index: HashIndex, data: ScaleInput, radii: tuple[int, int | None], brute_clips: int
) -> dict[str, Any]:
    radius, region_radius = radii
    parts = region_radius is not None
    region_radius = radius if region_radius is None else region_radius
    every = QUERY_ONLY_EVERY if parts else 1  # a 60-s clip is not short
    hashes = len(data.per_hash)
    found_ids: list[np.ndarray] = []
    per_hash, per_clip = [], []
    for q in range(hashes):
        started = time.process_time()
        hits = index.search(data.per_hash[q : q + 1], radius)
        per_hash.append(time.process_time() - started)
        found_ids.append(np.isin(data.planted[q : q + 1], hits.ids))
    clip_hits = []
    per_clip_queries = data.clips[0].size // 32
    for c, clip in enumerate(data.clips):
        started = time.process_time()
        hits = frame_search(index, clip, radius, region_radius, parts=parts, query_only_every=every)
        per_clip.append(time.process_time() - started)
        planted = data.planted[hashes + c * per_clip_queries :][:per_clip_queries]
        found_ids.append(_planted_found(hits, planted))
        if c < brute_clips:
            clip_hits.append(hits)
    agrees = True
    brute_hash, brute_clip = [], []
    for q in range(min(10, hashes)):
        started = time.process_time()
        scan = brute_force(index.words, data.per_hash[q : q + 1], radius)
        brute_hash.append(time.process_time() - started)
        hits = index.search(data.per_hash[q : q + 1], radius)
        agrees &= _pairs(scan.query, index.ids[scan.ids]) == _pairs(hits.query, hits.ids)
    for clip, hits in zip(data.clips, clip_hits, strict=False):
        queries = frame_queries(clip)
        started = time.process_time()
        scan = brute_force(index.words, queries, radius)
        ids = index.ids[scan.ids]
        # The pairs the matcher keeps, each query within its radius.
        far = scan.query % N_VARIANTS >= 2  # searched within the smaller radius
        kept = is_paired(scan.query, ids) & (~far | (scan.distance <= region_radius))
        query_only = scan.query % N_VARIANTS >= FIRST_QUERY_ONLY
        kept &= ~query_only | thinned(clip, every)[scan.query // N_VARIANTS]
        brute_clip.append(time.process_time() - started)
        agrees &= _pairs(scan.query[kept], ids[kept]) == _pairs(hits.query, hits.ids)
    return {
        "per_hash": per_hash,
        "per_clip": per_clip,
        "brute_hash": brute_hash,
        "brute_clip": brute_clip,
        "found": int(sum(int(f.sum()) for f in found_ids)),
        "agrees": agrees,
    }


def _planted_found(hits: Any, planted: np.ndarray) -> np.ndarray:
    """Whether query q's hits hold planted[q], for every q."""
    return np.isin(np.arange(len(planted)) * 2**40 + planted, hits.query * 2**40 + hits.ids)


# ---- output ----------------------------------------------------------------------------------


def robustness_table(rows: list[dict[str, Any]], families: list[dict[str, Any]]) -> str:
    lines = [
        "| transform | videos matched | photos matched | false matches "
        "| closest frame distance p50 / max | index offers both ways | missed |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        d = row["distances"]
        spread = f"{statistics.median(d):.0f} / {max(d)}" if d else "–"
        photos = f"{row['photo_hits']}/{row['photo_total']}" if row["photo_total"] else "–"
        matched = row["video_hits"] + row["photo_hits"]
        lines.append(
            f"| {row['transform']} | {row['video_hits']}/{row['video_total']} | {photos} "
            f"| {row['false_matches']} | {spread} | {row['offered']}/{matched} "
            f"| {', '.join(row['missed']) or '–'} |"
        )
    for f in families:
        missed = "; ".join(f"{a} ↔ {b}" for a, b in f["missed"])
        lines.append(
            f"\nThreatExchange {f['name']} family ({f['members']} members): "
            f"{f['pairs_matched']}/{f['pairs']} pairs match"
            + (f" (missed: {missed})" if missed else "")
            + f"; {f['unrelated_matches']} matches with unrelated fixtures."
        )
    return "\n".join(lines)


def precision_recall_table(sweep: Sweep, defaults: Thresholds) -> str:
    lines = [
        f"Pairs: {sweep.positives} positive, {sweep.negatives:,} negative. "
        "Each cell: precision / recall / F1 (false matches). Closest frames of negative pairs: "
        + ", ".join(f"{kind} {bits} bits" for kind, bits in sweep.closest.items())
        + ".",
        "",
        "| frame bits | " + " | ".join(f"coverage {c}" for c in COVERAGES) + " |",
        "|---:|" + "---:|" * len(COVERAGES),
    ]
    for bits in FRAME_BITS:
        cells = []
        for coverage in COVERAGES:
            true, false = sweep.true[bits, coverage], sweep.false[bits, coverage]
            precision = true / (true + false) if true + false else 1.0
            recall = true / sweep.positives
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            cell = f"{precision:.3f} / {recall:.3f} / {f1:.3f} ({false})"
            if (bits, coverage) == (defaults.frame_bits, defaults.min_coverage):
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append(f"| {bits} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scale_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| hashes | radius | build | index arrays | RSS growth build / serving "
        "| per hash p50 / p99 | per 60-s clip p50 / p99 | brute force per hash / per clip "
        "| planted found | same as brute force |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['radius']} | {r['build_s']} s | {r['index_mb']} MB "
            f"| {r['rss_build_mb']} / {r['rss_serving_mb']} MB "
            f"| {r['hash_p50_ms']} / {r['hash_p99_ms']} ms ({r['hash_queries']}) "
            f"| {r['clip_p50_ms']} / {r['clip_p99_ms']} ms ({r['clip_queries']}) "
            f"| {r['brute_hash_ms']} ms / {r['brute_clip_s']} s ({r['brute_clips']} clips) "
            f"| {r['planted_found']} | {'yes' if r['brute_force_agrees'] else 'NO'} |"
        )
    return "\n".join(lines)


def _csv(text: str, kind: Callable[[str], Any]) -> Iterator[Any]:
    return (kind(part) for part in text.split(",") if part)


def _radii(text: str) -> tuple[int, int | None]:
    """ "35/23": the catalogue's search (full frames and mirrors, the other variants); "36":
    the lists' (whole-picture variants only, all within it)."""
    full, _, region = text.partition("/")
    return int(full), int(region) if region else None


def main(argv: list[str] | None = None) -> None:
    defaults = Thresholds()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="index sizes, comma-separated")
    catalogue = (
        f"{min(defaults.frame_bits, CANDIDATE_BITS)}/"
        f"{min(defaults.frame_bits, REGION_CANDIDATE_BITS)}"
    )
    parser.add_argument(
        "--radii",
        default=f"{catalogue},{defaults.frame_bits}",
        help="search radii of the scale runs: R/REGION_R searches as the catalogue does, R "
        "as lists do (whole-picture variants only)",
    )
    parser.add_argument("--hash-queries", type=int, default=1000, help="frame hashes per run")
    parser.add_argument("--clip-queries", type=int, default=100, help="60-s clips per run")
    parser.add_argument(
        "--brute-clips",
        type=int,
        default=1,
        help="clips scanned by brute force (3,240 queries each)",
    )
    parser.add_argument("--skip-robustness", action="store_true", help="also skips --pr")
    parser.add_argument("--pr", action="store_true", help="sweep thresholds: precision/recall")
    parser.add_argument("--generated-clips", type=int, default=120, help="for --pr negatives")
    parser.add_argument("--generated-photos", type=int, default=3000, help="for --pr negatives")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    out = []
    if not args.skip_robustness:
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as workdir:
            corpus = fixtures_and_copies(Path(workdir))
            families = [family(corpus, "pattern", defaults), family(corpus, "modes", defaults)]
            out.append(robustness_table(robustness(corpus, defaults), families))
            print(out[-1], flush=True)
            if args.pr:
                clips = generated_clips(args.generated_clips, Path(workdir))
                photos = generated_photos(args.generated_photos) if args.generated_photos else None
                out.append(
                    precision_recall_table(precision_recall(corpus, clips, photos), defaults)
                )
                print(out[-1], flush=True)
    results = []
    for size in _csv(args.sizes, int):
        for radii in _csv(args.radii, _radii):
            options = {
                "hash_queries": args.hash_queries,
                "clip_queries": args.clip_queries,
                "brute_clips": args.brute_clips,
            }
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                1, mp_context=spawn, initializer=cv2.setNumThreads, initargs=(1,)
            ) as child:
                results.append(child.submit(scale, size, radii, **options).result())
            print(scale_table(results[-1:]), flush=True)
    if results:
        out.append(scale_table(results))
        print(out[-1])
    if args.markdown:
        args.markdown.write_text("\n\n".join(out) + "\n")


if __name__ == "__main__":
    main()
