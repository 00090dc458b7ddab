"""Clip matching: frames close in Hamming distance, in the same order in both clips.

A clip is a Signature: its sampled frames' times and hash variants (see hashes.VARIANTS).
Two frames are as far apart as their closest pair of variants that hashes.PAIRED compares:
full/full (re-encode, resize, grey, colour, logo), full/mirror (a mirrored copy), full/central
region and central 97.5 %/central region (one of the two is a crop of the other), full/cut and
as-central/central (one of the two is cut on one side); or, through their quadrants, as the
second-closest of the four pairs of quadrants in the same place (two of them match: an overlay
over up to half of the picture), counting only quadrants that move in their clip
(Signature.still). Two clips match when a chain of matching frames increasing in time in both
covers enough of the shorter one; the chain may run faster or slower than real time within
max_speed, so a sped-up copy or a sub-clip still matches, which a fixed time offset would miss.

Extra frames (hashes.py: hashed between samples where the picture changes fast, with no
central regions) pair only with sampled frames, and coverage counts sampled frames: the
larger number of either clip's samples in the chain, over the shorter clip's samples. Without
extras that is the chain's length over the shorter clip's frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from outtake.media.dedup.hashes import FIRST_QUADRANT, PAIRED, QUADRANTS, VARIANTS, is_sampled

N_VARIANTS = len(VARIANTS)
NO_PAIR = 257  # a distance no threshold reaches
# A quadrant this close to the same quadrant in half of its clip's other frames is still (the
# default frame threshold: what would pair it with them).
STILL_BITS = 36
# The pairs of variants compared, but quadrants (two by two: frame_distances), in groups of
# 16, and the frame pairs compared at once: together they bound the memory of comparing two
# long clips (a block's XOR of words is 2^17 frame pairs × 16 × 32 bytes, 64 MB).
_PAIRS = [
    (a, b)
    for a, b in zip(*np.nonzero(PAIRED), strict=True)
    if a < FIRST_QUADRANT or a >= QUADRANTS.stop
]
_GROUPS = [np.array(_PAIRS[k : k + 16]).T for k in range(0, len(_PAIRS), 16)]
_BLOCK_PAIRS = 1 << 17


@dataclass(frozen=True)
class Thresholds:
    """What counts as a match; the defaults (as settings.OUTTAKE_DEDUP_*'s) come from the
    precision/recall table of `make bench-dedup --pr` (README)."""

    frame_bits: int = 36  # Hamming distance of two frames, of 256 bits
    min_coverage: float = 0.4  # share of the shorter clip's samples in the chain
    min_frames: int = 2  # chain length, or every frame of a shorter clip
    max_speed: float = 1.5  # ±25 % speed plus the jitter of 1-fps sampling


@dataclass
class Signature:
    """Sampled frames of one clip: times (N,) and hashes (N, variants, 32 bytes)."""

    times: np.ndarray
    hashes: np.ndarray
    key: object = None

    @classmethod
    def from_frames(cls, frames: Sequence[dict], key: object = None) -> Signature:
        """From [{"t", "h": [hex per variant] or "hash": hex, "x": extra}]. A sampled frame
        (no "x") with fewer variants (a PDQ list's or Clip.pdq's full hash alone, or an older
        layout's four) repeats its full hash in the whole-picture variants it lacks, which only
        repeats the full/full comparison, and lacks the quadrants (zeros: absent); an extra's
        central regions are absent."""
        hashes = np.zeros((len(frames), N_VARIANTS, 32), dtype=np.uint8)
        for i, frame in enumerate(frames):
            variants = frame.get("h") or [frame["hash"]]
            for v, variant in enumerate(variants[:N_VARIANTS]):
                hashes[i, v] = np.frombuffer(bytes.fromhex(variant), np.uint8)
            if not frame.get("x"):
                hashes[i, len(variants) : FIRST_QUADRANT] = hashes[i, 0]
        times = np.array([float(f.get("t", i)) for i, f in enumerate(frames)], dtype=np.float64)
        return cls(times, hashes, key)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def extra(self) -> np.ndarray:
        """Which frames are extras: their central regions are absent."""
        return ~is_sampled(self.hashes)

    @cached_property  # O(N²): asked once per clip pair, and a clip meets up to 20 candidates
    def still(self) -> np.ndarray:
        """(N, 4): which quadrants of each frame stay put in the clip, within STILL_BITS of
        the same quadrant in at least half of its other frames (a clip of under 3 frames has
        none). Such a quadrant (a car's bonnet and dashboard, a fixed camera's foreground, a
        screen's menus) is the same in other footage from that place, so it never pairs."""
        count = len(self.hashes)
        if count < 3:
            return np.zeros((count, QUADRANTS.stop - QUADRANTS.start), bool)
        quads = words(self.hashes[:, QUADRANTS])  # (N, 4, 4)
        near = np.bitwise_count(quads[:, None] ^ quads[None, :]).sum(-1, dtype=np.uint16)
        close = (near <= STILL_BITS).sum(axis=1) - 1  # (N, 4), not counting itself
        return close * 2 >= count - 1


@dataclass
class Match:
    """A chain of matching frames: pairs (time in a, time in b, distance)."""

    pairs: list[tuple[float, float, int]] = field(default_factory=list)
    coverage: float = 0.0

    @property
    def mean_bits(self) -> float:
        return sum(d for _, _, d in self.pairs) / max(1, len(self.pairs))


def widened(frames: np.ndarray) -> np.ndarray:
    """(N, k, 32) frame hashes stored before the later variants existed (k < N_VARIANTS) as
    (N, N_VARIANTS, 32), those variants absent (zeros)."""
    if frames.shape[1] == N_VARIANTS:
        return frames
    out = np.zeros((len(frames), N_VARIANTS, 32), np.uint8)
    out[:, : frames.shape[1]] = frames
    return out


def from_blobs(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored frame hash blobs (k × 32 bytes each, k ≤ N_VARIANTS) as (N, N_VARIANTS, 32)."""
    out = np.zeros((len(blobs), N_VARIANTS, 32), np.uint8)
    sizes = np.array([len(b) for b in blobs], dtype=np.int64)
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        data = np.frombuffer(b"".join(bytes(blobs[r]) for r in rows), np.uint8)
        out[rows] = widened(data.reshape(len(rows), int(size) // 32, 32))
    return out


def words(hashes: np.ndarray) -> np.ndarray:
    """32-byte hashes (..., 32) as (..., 4) uint64 words, for XOR and popcount."""
    return np.ascontiguousarray(hashes).view(np.uint64)


def frame_distances(a: Signature, b: Signature) -> np.ndarray:
    """(len a, len b) distances: the closest allowed pair of variants of each two frames
    (NO_PAIR for two extras, which never pair), a block of a's frames at a time."""
    wa, wb = words(a.hashes), words(b.hashes)  # (N, V, 4)
    present_a, present_b = a.hashes.any(axis=-1), b.hashes.any(axis=-1)  # absent: all zeros
    # Quadrants pair only where they move in their clip.
    moving_a, moving_b = present_a[:, QUADRANTS] & ~a.still, present_b[:, QUADRANTS] & ~b.still
    distance = np.full((len(a), len(b)), NO_PAIR, np.int32)
    rows = max(1, _BLOCK_PAIRS // max(1, len(b)))
    for start in range(0, len(a), rows):
        block = slice(start, start + rows)
        for va, vb in _GROUPS:  # absent variants are never close
            bits = np.bitwise_count(wa[block, None, va] ^ wb[None, :, vb]).sum(-1, dtype=np.uint16)
            bits[~(present_a[block, None, va] & present_b[None, :, vb])] = NO_PAIR
            np.minimum(distance[block], bits.min(-1), out=distance[block])
        # Quadrants in the same place: the second-closest pair.
        quarters = np.bitwise_count(wa[block, None, QUADRANTS] ^ wb[None, :, QUADRANTS])
        quarters = quarters.sum(-1, dtype=np.uint16)
        quarters[~(moving_a[block, None, :] & moving_b[None, :, :])] = NO_PAIR
        second = np.partition(quarters, 1, axis=-1)[..., 1]
        np.minimum(distance[block], second, out=distance[block])
    distance[np.ix_(a.extra, b.extra)] = NO_PAIR
    return distance


def chain(
    ta: np.ndarray, tb: np.ndarray, dist: np.ndarray, max_speed: float
) -> list[tuple[int, int]]:
    """The longest chain of (i, j) pairs with i and j increasing together, each step's
    speed (Δt in b / Δt in a) within [1/max_speed, max_speed]; ties go to closer frames."""
    order = np.lexsort((dist, tb, ta))
    ii, jj = ta[order], tb[order]
    n = len(order)
    best = np.ones(n, dtype=np.int64)
    cost = dist[order].astype(np.float64)
    back = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        dt_a = ii[k] - ii[:k]
        dt_b = jj[k] - jj[:k]
        ok = (dt_a > 0) & (dt_b > 0)
        ok &= (dt_b <= dt_a * max_speed + 1.0) & (dt_a <= dt_b * max_speed + 1.0)
        if not ok.any():
            continue
        length = np.where(ok, best[:k] + 1, 0)
        top = length.max()
        choices = np.flatnonzero(length == top)
        pick = choices[np.argmin(cost[choices])]
        best[k], back[k] = top, pick
        cost[k] += cost[pick]
    if n == 0:
        return []
    k = int(np.lexsort((cost, -best))[0])
    path = []
    while k >= 0:
        path.append(int(order[k]))
        k = int(back[k])
    return path[::-1]


def match_clips(
    a: Signature,
    b: Signature,
    thresholds: Thresholds = Thresholds(),
    distances: np.ndarray | None = None,
) -> Match | None:
    """The chain by which a and b match, or None. distances: frame_distances(a, b), for a
    caller trying many thresholds on the same pair."""
    if not len(a) or not len(b):
        return None
    dist = frame_distances(a, b) if distances is None else distances
    ia, ib = np.nonzero(dist <= thresholds.frame_bits)
    if not len(ia):
        return None
    picked = chain(a.times[ia], b.times[ib], dist[ia, ib], thresholds.max_speed)
    # Sampled frames in the chain (a frame of either clip counts once: the chain is one-to-one).
    sampled_a, sampled_b = ~a.extra, ~b.extra
    matched = max(int(sampled_a[ia[picked]].sum()), int(sampled_b[ib[picked]].sum()))
    shorter = int(min(sampled_a.sum(), sampled_b.sum()))
    if not shorter:
        return None
    coverage = min(1.0, matched / shorter)
    if matched < min(thresholds.min_frames, shorter) or coverage < thresholds.min_coverage:
        return None
    pairs = [
        (float(a.times[ia[p]]), float(b.times[ib[p]]), int(dist[ia[p], ib[p]])) for p in picked
    ]
    return Match(pairs, coverage)
