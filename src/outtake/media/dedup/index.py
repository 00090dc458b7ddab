"""A persistent index of 256-bit hashes searched by multi-index hashing, not a linear scan.

The hash is cut into 12 chunks of 21–22 bits. Two hashes within r bits agree within r // 12
bits on at least one chunk (pigeonhole), so a search probes, in each chunk's table, every
chunk value within r // 12 bits of the query's (254 probes per chunk at r = 31) and checks only
the hashes found there. Each table is the entries sorted by chunk value with an offset per
value (CSR), built with numpy and saved as .npy files that load memory-mapped. A small index
keys its tables by the low bits of the chunk value only (about two entries' worth of values
per entry), so its offsets stay small; the distance check makes that lossless.

Entries are frame variants: an entry's id is frame × variants + variant, variant 0 the full
frame (hashes.VARIANTS). The matcher pairs the variants hashes.PAIRED says, most of them with
the full frame on one side, so within each table value the full-frame entries come first: a
query paired with full frames only (a mirror, a central region, a cut) reads only those, one
never paired with a full frame (a quadrant, an "as central" region) only the others. An
all-zero hash is a variant that was not computed (an extra frame's
central regions, a flat quadrant, or a frame hashed before a variant existed): it is neither
indexed nor searched for.

frame_search() searches a clip's frames: full frames and mirrors within the radius, the other
variants within a smaller one (region_radius): at 23 bits or fewer a search probes 1 bit per
chunk, a tenth of the probes of 2, and a candidate clip needs only one frame that close (a copy
cropped by a region's share is a median 0–2 bits from the region's hash, one cropped between
two regions' shares 22–28, on the fixtures' frames).

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

from outtake.media.dedup.hashes import (
    FIRST_QUADRANT,
    FIRST_QUERY_ONLY,
    PAIRED,
    VARIANTS,
    is_sampled,
)

WIDTHS = (22, 22, 22, 22, 21, 21, 21, 21, 21, 21, 21, 21)
STARTS = tuple(itertools.accumulate((0, *WIDTHS[:-1])))
# Version of the tables' layout (meta.json "format"): 4 since ids are frame × 54 variants.
# Version 1 (no "format") keyed tables by the whole chunk value, with no full-frame split;
# versions 1 and 2 had ids frame × 4, version 3 frame × 10: such an index loads (stale) but its
# owner rebuilds it from the frames before searching it (dedup.services).
FORMAT = 4
_VARIANTS_IN_FORMAT = {1: 4, 2: 4, 3: 10, 4: len(VARIANTS)}
# Variants the catalogue's index holds: not the mirror (queries carry their own, so a mirrored
# pair is found once), nor the cuts and halfway regions (queries only: hashes.py).
INDEXED = tuple(v for v in range(FIRST_QUERY_ONLY) if v != 1)


def entry_ids(frame_ids: object) -> np.ndarray:
    """The ids of the INDEXED variants of frames numbered frame_ids: frame × variants +
    variant."""
    frames = np.asarray(frame_ids, dtype=np.int64).reshape(-1, 1)
    return (frames * len(VARIANTS) + np.array(INDEXED)).ravel()


def catalogue_entries(frames: np.ndarray, frame_ids: object) -> tuple[np.ndarray, np.ndarray]:
    """The index entries (hashes, ids) of frames (N, variants, 32) numbered frame_ids."""
    return np.asarray(frames)[:, INDEXED].reshape(-1, 32), entry_ids(frame_ids)


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


def key_bits(entries: int) -> tuple[int, ...]:
    """Bits of each chunk value a table is keyed by: all of them from about a million
    entries up, fewer below (never fewer than 8)."""
    return tuple(min(w, max(8, entries.bit_length() + 1)) for w in WIDTHS)


def popcount_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of (…, 4) uint64 word arrays, as uint16."""
    counts = np.bitwise_count(a ^ b)
    # Column by column: twice as fast as counts.sum(axis=-1), which runs per row.
    distance = counts[..., 0].astype(np.uint16)
    for word in range(1, 4):
        distance += counts[..., word]
    return distance


def is_full_frame(ids: np.ndarray) -> np.ndarray:
    """Which entry ids are of a full frame (variant 0)."""
    return np.asarray(ids) % len(VARIANTS) == 0


def frame_queries(frames: np.ndarray) -> np.ndarray:
    """A clip's (N, variants, 32) frame hashes as search() queries: query q is frame
    q // variants, variant q % variants. Extra frames (no central regions) are not searched
    for (all zeros): the index holds them for the samples of other clips to find."""
    frames = np.array(frames, dtype=np.uint8)
    if frames.shape[1:] != (len(VARIANTS), 32):
        raise ValueError(f"frames must be (N, {len(VARIANTS)}, 32), not {frames.shape}")
    frames[~is_sampled(frames)] = 0  # extras
    return frames.reshape(-1, 32)


def is_paired(queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Whether the matcher compares each query's variant (frame_queries() numbers) with its
    entry's (hashes.PAIRED)."""
    return PAIRED[np.asarray(queries) % len(VARIANTS), np.asarray(ids) % len(VARIANTS)]


@dataclass
class Hits:
    """Search results as parallel arrays: which query, which entry (its id) and distance."""

    query: np.ndarray
    ids: np.ndarray
    distance: np.ndarray


class HashIndex:
    """Entries (hash, id); search(queries, radius) finds every entry within radius bits."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        self.format = FORMAT
        self.words, self.ids = _present(hashes, ids)
        n = len(self.ids)
        # Table key: the chunk value's low bits, then 0 for a full frame, 1 for another variant.
        variant_bit = (~is_full_frame(self.ids)).astype(np.uint32)
        self.order = np.empty((len(WIDTHS), n), dtype=np.int32)
        offset_type = np.int32 if n < 2**31 else np.int64
        self.offsets = np.zeros(sum(self._table_sizes()), dtype=offset_type)
        for k, (start, width, bits) in enumerate(self._tables()):
            keys = (chunk_values(self.words, start, width) & np.uint32((1 << bits) - 1)) << 1
            keys |= variant_bit
            self.order[k] = np.argsort(keys)  # order within a key does not matter
            table = self.offsets[self._table_base(k) :][: 1 + (2 << bits)]
            np.cumsum(np.bincount(keys, minlength=2 << bits), out=table[1:])
        self.tail_words = np.zeros((0, 4), dtype=np.uint64)
        self.tail_ids = np.zeros(0, dtype=np.int64)
        self.removed_ids = np.zeros(0, dtype=np.int64)  # sorted
        self._masks: dict[int, list[np.ndarray]] = {}

    def _tables(self) -> list[tuple[int, int, int]]:
        """(start, width, key bits) of each chunk's table."""
        return list(zip(STARTS, WIDTHS, key_bits(len(self.ids)), strict=True))

    def _table_sizes(self) -> list[int]:
        return [1 + (2 << bits) for bits in key_bits(len(self.ids))]

    def _table_base(self, k: int) -> int:
        return sum(self._table_sizes()[:k])

    def __len__(self) -> int:
        return len(self.ids) + len(self.tail_ids)

    @property
    def variants(self) -> int:
        """Variants per frame in the entry ids (4 or 10 in older layouts)."""
        return _VARIANTS_IN_FORMAT[self.format]

    @property
    def stale(self) -> bool:
        """Saved in an older layout: to be rebuilt from the frames, not searched."""
        return self.format != FORMAT

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.words, self.ids, self.order, self.offsets))

    def add(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """Append entries to the linearly scanned tail."""
        words, ids = _present(hashes, ids)
        self.tail_words = np.concatenate([self.tail_words, words])
        self.tail_ids = np.concatenate([self.tail_ids, ids])

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
        """Per table, the XOR masks of the probes: chunk values within radius // 12 bits,
        cut to the table's key bits (where fewer probes reach every key)."""
        per_chunk = radius // len(WIDTHS)
        if per_chunk not in self._masks:
            self._masks[per_chunk] = [
                np.unique(_masks(width, per_chunk) & np.uint32((1 << bits) - 1))
                for _, width, bits in self._tables()
            ]
        return self._masks[per_chunk]

    def search(
        self,
        queries: np.ndarray,
        radius: int,
        full_only: np.ndarray | None = None,
        others_only: np.ndarray | None = None,
    ) -> Hits:
        """Every (query, entry) within radius bits; queries are (Q, 32) uint8 hashes. Where
        full_only[q] is set, query q is compared with full-frame entries only, where
        others_only[q] with the other entries only (see frame_search)."""
        qwords = to_words(queries)
        count = len(qwords)
        full_only = np.zeros(count, bool) if full_only is None else np.asarray(full_only, bool)
        others = np.zeros(count, bool) if others_only is None else np.asarray(others_only, bool)
        searched = qwords.any(axis=1)  # an all-zero query is an absent variant
        found = [np.zeros(0, dtype=np.int64)] * 3
        if len(self.ids):
            found = self._search_tables(qwords, radius, full_only, others, searched)
        hits_q, rows, distance = found
        ids = self.ids[rows]
        if len(self.removed_ids):
            live = ~np.isin(ids, self.removed_ids)
            hits_q, ids, distance = hits_q[live], ids[live], distance[live]
        if len(self.tail_ids):
            tail = popcount_distance(self.tail_words[None, :, :], qwords[:, None, :])
            near = tail <= radius
            full = is_full_frame(self.tail_ids)[None, :]
            near &= (~full_only[:, None] | full) & (~others[:, None] | ~full)
            near &= searched[:, None]
            tq, tr = np.nonzero(near)
            hits_q = np.concatenate([hits_q, tq])
            ids = np.concatenate([ids, self.tail_ids[tr]])
            distance = np.concatenate([distance, tail[tq, tr]])
        return Hits(hits_q.astype(np.int64), ids.astype(np.int64), distance.astype(np.int64))

    def _search_tables(
        self,
        qwords: np.ndarray,
        radius: int,
        full_only: np.ndarray,
        others_only: np.ndarray,
        searched: np.ndarray,
    ) -> list[np.ndarray]:
        """(query, row, distance) of the table entries within radius, each pair once."""
        masks = self._probe_masks(radius)
        # A key's full-frame entries are offsets[2v] .. offsets[2v + 1], the others from there
        # up to offsets[2v + 2]; a query not searched reads offsets[2v] .. offsets[2v].
        low = (others_only & searched).astype(np.int64)[:, None]
        high = (np.where(full_only, 1, 2) * searched)[:, None]
        found_q, found_rows, found_d = [], [], []
        for k, (start, width, bits) in enumerate(self._tables()):
            values = chunk_values(qwords, start, width) & np.uint32((1 << bits) - 1)
            first = ((values[:, None] ^ masks[k][None, :]).astype(np.int64) << 1) + (
                self._table_base(k)
            )
            begins = self.offsets[first + low]
            lengths = (self.offsets[first + high] - begins).ravel()
            total = int(lengths.sum())
            if not total:
                continue
            # Positions begins[i] .. begins[i] + lengths[i] for every probe, vectorised.
            ends = np.cumsum(lengths)
            positions = np.arange(total) + np.repeat(begins.ravel() - ends + lengths, lengths)
            rows = self.order[k, positions]
            hits_q = np.repeat(np.arange(len(qwords)), lengths.reshape(len(qwords), -1).sum(1))
            # Distances now, so that only near entries are kept (a random candidate is
            # ~128 bits away); sorting every candidate to drop repeats cost more.
            distance = popcount_distance(self.words[rows], qwords[hits_q])
            near = distance <= radius
            found_q.append(hits_q[near])
            found_rows.append(rows[near])
            found_d.append(distance[near])
        if not found_q:
            return [np.zeros(0, dtype=np.int64)] * 3
        hits_q, rows, distance = (
            np.concatenate(a).astype(np.int64) for a in (found_q, found_rows, found_d)
        )
        # An entry near a query is found through every chunk within r // 12 bits: once each.
        _, first_seen = np.unique(hits_q * len(self.ids) + rows, return_index=True)
        return [hits_q[first_seen], rows[first_seen], distance[first_seen]]

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
        meta = {"entries": len(self), "format": FORMAT}
        partial = folder / "meta.json.part"  # replaced whole: readers check it without a lock
        partial.write_text(json.dumps(meta))
        partial.replace(folder / "meta.json")

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
        index.format = _format_on_disk(folder)
        return index

    @classmethod
    def empty(cls) -> HashIndex:
        return cls(np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.int64))


def _present(hashes: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries as words and ids, without all-zero hashes (absent variants)."""
    words = to_words(hashes) if hashes.dtype == np.uint8 else hashes
    ids = np.asarray(ids, dtype=np.int64)
    present = words.any(axis=1)
    if present.all():
        return words, ids
    return np.ascontiguousarray(words[present]), ids[present]


def _format_on_disk(folder: Path) -> int:
    meta = folder / "meta.json"
    return json.loads(meta.read_text()).get("format", 1) if meta.exists() else 1


def frame_search(
    index: HashIndex,
    frames: np.ndarray,
    radius: int,
    region_radius: int | None = None,
    *,
    parts: bool = True,
    query_only_every: int = 1,
) -> Hits:
    """Every entry a clip's frames (N, variants, 32) find, numbered as frame_queries() numbers
    the queries, of the pairs of variants the matcher compares (hashes.PAIRED): full frames
    and mirrors within radius, so a cropped copy finds its source's regions at the full
    radius; the other variants within region_radius (default radius), without quadrants and
    query-only variants unless parts, and the query-only ones of every query_only_every-th
    sampled frame only."""
    queries = frame_queries(frames)
    numbers = np.arange(len(queries))
    variant = numbers % len(VARIANTS)
    region_radius = radius if region_radius is None else region_radius
    others = (variant >= 2) & (parts | (variant < FIRST_QUADRANT))
    others &= (variant < FIRST_QUERY_ONLY) | thinned(frames, query_only_every)[
        numbers // len(VARIANTS)
    ]
    found = []
    for asked, bits in ((numbers[variant < 2], radius), (numbers[others], region_radius)):
        partners = PAIRED[variant[asked]]
        hits = index.search(queries[asked], bits, ~partners[:, 1:].any(1), ~partners[:, 0])
        query = asked[hits.query]
        kept = is_paired(query, hits.ids)
        found.append(Hits(query[kept], hits.ids[kept], hits.distance[kept]))
    return Hits(
        *(np.concatenate([getattr(p, f) for p in found]) for f in ("query", "ids", "distance"))
    )


def thinned(frames: np.ndarray, every: int) -> np.ndarray:
    """Which of frames (N, variants, 32) search their query-only variants: every every-th
    sampled frame (extras search nothing)."""
    sampled = np.flatnonzero(is_sampled(frames))
    chosen = np.zeros(len(frames), bool)
    chosen[sampled[::every]] = True
    return chosen


# The catalogue's candidate search (candidate_search). Full frames and mirrors are searched
# within CANDIDATE_BITS: with 12 chunks, probing 2 bits per chunk covers every pair within 35
# bits, while 36–47 would need 3 per chunk, 7 times the probes (README, `make bench-dedup`). A
# candidate clip needs only one of its frames that close. The other variants are searched within
# REGION_CANDIDATE_BITS, 1 bit per chunk, and the query-only ones (hashes.py: cuts, halfway and
# one-axis regions, 44 of a frame's 52 queries) only for every QUERY_ONLY_EVERY-th sample,
# which keeps a 60-s clip's search within its target (README). A clip with fewer than
# SHORT_CLIP_FRAMES samples (a photo is one) searches every variant of every sample within
# CANDIDATE_BITS: with so few frames, none may come that close (a photo cropped between two
# regions' shares is 20–30 bits from its source), and their probes cost little.
CANDIDATE_BITS = 35
REGION_CANDIDATE_BITS = 23
QUERY_ONLY_EVERY = 3
SHORT_CLIP_FRAMES = 10


def candidate_search(index: HashIndex, frames: np.ndarray, frame_bits: int) -> Hits:
    """frame_search() as the catalogue finds candidate clips for a clip's frames (N, variants,
    32), never beyond the frame threshold."""
    short = is_sampled(frames).sum() < SHORT_CLIP_FRAMES
    return frame_search(
        index,
        frames,
        min(frame_bits, CANDIDATE_BITS),
        min(frame_bits, CANDIDATE_BITS if short else REGION_CANDIDATE_BITS),
        query_only_every=1 if short else QUERY_ONLY_EVERY,
    )


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
