"""A persistent index of 256-bit hashes searched by multi-index hashing, not a linear scan.

The hash is cut into 12 chunks of 21–22 bits. Two hashes within r bits agree within r // 12
bits on at least one chunk (pigeonhole), so a search probes, in each chunk's table, every
chunk value within r // 12 bits of the query's (254 probes per chunk at r = 31) and checks only
the hashes found there. Each table is the entries sorted by chunk value with an offset per
value (CSR), built with numpy and saved as .npy files that load memory-mapped.

New entries go to a small unsorted tail, scanned linearly, until it is merged (rebuild).
Removed entries leave the tail at once; in the tables they are listed as removed, skipped by
searches, until the next merge.
"""

from __future__ import annotations

import fcntl
import itertools
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIDTHS = (22, 22, 22, 22, 21, 21, 21, 21, 21, 21, 21, 21)
STARTS = tuple(itertools.accumulate((0, *WIDTHS[:-1])))


def to_words(hashes: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 hashes as (N, 4) big-endian uint64 words, most significant bit first."""
    return np.ascontiguousarray(hashes, dtype=np.uint8).view(">u8").astype(np.uint64)


def chunk_values(words: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits start..start+width of each 256-bit hash (as 4 words) as uint32."""
    word, offset = divmod(start, 64)
    mask = np.uint64((1 << width) - 1)
    if offset + width <= 64:
        return ((words[:, word] >> np.uint64(64 - offset - width)) & mask).astype(np.uint32)
    low_bits = offset + width - 64  # bits taken from the next word
    high = (words[:, word] & np.uint64((1 << (64 - offset)) - 1)) << np.uint64(low_bits)
    low = words[:, word + 1] >> np.uint64(64 - low_bits)
    return (high | low).astype(np.uint32)


def _masks(width: int, radius: int) -> np.ndarray:
    values = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(width), r):
            values.append(sum(1 << b for b in bits))
    return np.array(values, dtype=np.uint32)


def popcount_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of (…, 4) uint64 word arrays."""
    return np.bitwise_count(a ^ b).sum(axis=-1)


@dataclass
class Hits:
    """Search results as parallel arrays: which query, which entry (its id) and distance."""

    query: np.ndarray
    ids: np.ndarray
    distance: np.ndarray


class HashIndex:
    """Entries (hash, id); search(queries, radius) finds every entry within radius bits."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        self.words = to_words(hashes) if hashes.dtype == np.uint8 else hashes
        self.ids = np.asarray(ids, dtype=np.int64)
        n = len(self.ids)
        self.order = np.empty((len(WIDTHS), n), dtype=np.int32)
        offset_type = np.int32 if n < 2**31 else np.int64
        self.offsets = np.zeros((len(WIDTHS), (1 << max(WIDTHS)) + 1), dtype=offset_type)
        for k, (start, width) in enumerate(zip(STARTS, WIDTHS, strict=True)):
            keys = chunk_values(self.words, start, width)
            self.order[k] = np.argsort(keys)  # order within a chunk value does not matter
            counts = np.bincount(keys, minlength=1 << max(WIDTHS))
            np.cumsum(counts, out=self.offsets[k, 1:])
        self.tail_words = np.zeros((0, 4), dtype=np.uint64)
        self.tail_ids = np.zeros(0, dtype=np.int64)
        self.removed_ids = np.zeros(0, dtype=np.int64)  # sorted
        self._masks: dict[int, list[np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.ids) + len(self.tail_ids)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.words, self.ids, self.order, self.offsets))

    def add(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """Append entries to the linearly scanned tail."""
        self.tail_words = np.concatenate([self.tail_words, to_words(hashes)])
        self.tail_ids = np.concatenate([self.tail_ids, np.asarray(ids, dtype=np.int64)])

    def remove(self, ids: np.ndarray) -> None:
        """Drop the entries with these ids (from the tail now, from the tables at the next
        merge; searches skip them meanwhile)."""
        ids = np.asarray(ids, dtype=np.int64)
        in_tail = np.isin(self.tail_ids, ids)
        self.removed_ids = np.union1d(self.removed_ids, np.setdiff1d(ids, self.tail_ids[in_tail]))
        self.tail_words, self.tail_ids = self.tail_words[~in_tail], self.tail_ids[~in_tail]

    def merged(self) -> HashIndex:
        """A new index with the tail in the tables and removed entries gone."""
        kept = ~np.isin(self.ids, self.removed_ids)
        words = np.concatenate([self.words[kept], self.tail_words])
        return HashIndex(words, np.concatenate([self.ids[kept], self.tail_ids]))

    def _probe_masks(self, radius: int) -> list[np.ndarray]:
        per_chunk = radius // len(WIDTHS)
        if per_chunk not in self._masks:
            self._masks[per_chunk] = [_masks(w, per_chunk) for w in WIDTHS]
        return self._masks[per_chunk]

    def search(self, queries: np.ndarray, radius: int) -> Hits:
        """Every (query, entry) within radius bits; queries are (Q, 32) uint8 hashes."""
        qwords = to_words(queries)
        found_q, found_rows = [], []
        n = len(self.ids)
        if n:
            masks = self._probe_masks(radius)
            for k, (start, width) in enumerate(zip(STARTS, WIDTHS, strict=True)):
                probes = chunk_values(qwords, start, width)[:, None] ^ masks[k][None, :]
                starts = self.offsets[k, probes.ravel()].astype(np.int64)
                lengths = self.offsets[k, probes.ravel() + 1] - starts
                total = int(lengths.sum())
                if not total:
                    continue
                # Positions starts[i] .. starts[i] + lengths[i] for every probe, vectorised.
                ends = np.cumsum(lengths)
                positions = np.arange(total) + np.repeat(starts - ends + lengths, lengths)
                found_rows.append(self.order[k, positions])
                found_q.append(np.repeat(np.arange(len(qwords)).repeat(len(masks[k])), lengths))
        hits_q = np.concatenate(found_q) if found_q else np.zeros(0, dtype=np.int64)
        rows = np.concatenate(found_rows).astype(np.int64) if found_rows else hits_q
        if len(rows):
            # A hash found through several chunks counts once. Sorting is much faster here
            # than np.unique, whose hash table took 5 s for a 60-s clip's 1.7 M candidates.
            pair = np.sort(hits_q * n + rows)
            pair = pair[np.concatenate(([True], pair[1:] != pair[:-1]))]
            hits_q, rows = pair // n, pair % n
            distance = popcount_distance(self.words[rows], qwords[hits_q])
            near = distance <= radius
            hits_q, rows, distance = hits_q[near], rows[near], distance[near]
            ids = self.ids[rows]
            if len(self.removed_ids):
                live = ~np.isin(ids, self.removed_ids)
                hits_q, ids, distance = hits_q[live], ids[live], distance[live]
        else:
            ids = distance = np.zeros(0, dtype=np.int64)
        if len(self.tail_ids):
            tail = popcount_distance(self.tail_words[None, :, :], qwords[:, None, :])
            tq, tr = np.nonzero(tail <= radius)
            hits_q = np.concatenate([hits_q, tq])
            ids = np.concatenate([ids, self.tail_ids[tr]])
            distance = np.concatenate([distance, tail[tq, tr]])
        return Hits(hits_q.astype(np.int64), ids.astype(np.int64), distance.astype(np.int64))

    # Persistence: a folder of .npy files, memory-mapped on load.
    # tail_ids last: readers reload when it changes (removed_ids before it, for the same reason).
    _FILES = ("words", "ids", "order", "offsets", "removed_ids", "tail_words", "tail_ids")
    _SMALL_FILES = ("removed_ids", "tail_words", "tail_ids")

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self._FILES:
            part = folder / f"{name}.tmp.npy"
            np.save(part, getattr(self, name))
            part.replace(folder / f"{name}.npy")
        (folder / "meta.json").write_text(json.dumps({"entries": len(self)}))

    def save_tail(self, folder: Path) -> None:
        """Write only the tail and the removed ids (what an ingest changes)."""
        for name in self._SMALL_FILES:
            part = folder / f"{name}.tmp.npy"
            np.save(part, getattr(self, name))
            part.replace(folder / f"{name}.npy")

    @classmethod
    def load(cls, folder: Path) -> HashIndex | None:
        if not (folder / "tail_ids.npy").exists():
            return None
        index = cls.__new__(cls)
        index.removed_ids = np.zeros(0, dtype=np.int64)
        for name in cls._FILES:
            path = folder / f"{name}.npy"
            if name == "removed_ids" and not path.exists():
                continue  # saved before entries could be removed
            mode = "r" if name in ("words", "order", "offsets", "ids") else None
            setattr(index, name, np.load(path, mmap_mode=mode))
        index._masks = {}
        return index

    @classmethod
    def empty(cls) -> HashIndex:
        return cls(np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.int64))


def brute_force(words: np.ndarray, queries: np.ndarray, radius: int) -> Hits:
    """The same search by a linear scan, for the bench's comparison."""
    qwords = to_words(queries)
    qs, rows, ds = [], [], []
    for q, query in enumerate(qwords):
        distance = popcount_distance(words, query[None, :])
        (near,) = np.nonzero(distance <= radius)
        qs.append(np.full(len(near), q))
        rows.append(near)
        ds.append(distance[near])
    return Hits(np.concatenate(qs), np.concatenate(rows), np.concatenate(ds))


@contextmanager
def locked(folder: Path):
    """An exclusive lock on the index folder for writers (worker ingest, rebuild)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
