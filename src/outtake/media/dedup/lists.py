"""Hash list files, and matching clips against a bag of frame hashes.

Formats (one file is one format):
- SHA-256 lists: one hex digest per line (e.g. `sha256sum` output; the digest comes first);
- PDQ lists in ThreatExchange's text form: one 64-hex-digit hash per line, optionally
  followed by ",quality" or whitespace and more fields;
- `outtake hashes DIR` files: JSON lines, a header {"format": "outtake-hashes/1"} then one
  {"path", "sha256", "shots": [{"start_s", "end_s", "frames": [{"t", "q", "h"}]}]} per file.
SHA-256 and PDQ digests have the same length, so the uploader says which a plain list holds.

A list is matched per hash, as ThreatExchange's format intends: each line is the hash of some
frame, of some video, in no order. A frame of a clip is in the list when any of its variants
(the full frame, its mirror, its central regions) is within the frame threshold of a listed
hash (or, for `outtake hashes` files, of any listed variant, one side being a full frame).
A clip is in the list when enough of its frames are: at least min_coverage of them (default
half) and at least min_frames (default 2), or every frame of a clip that has fewer (a photo
is one frame). So a single shared frame (a logo card, a black frame that slipped through)
never excludes a clip. A clip's frames here are its sampled frames; its extras (hashes.py) are
not searched for, but the extras of an `outtake hashes` file are in its bag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from outtake.media.dedup.hashes import FIRST_QUADRANT, FIRST_QUERY_ONLY
from outtake.media.dedup.index import HashIndex, frame_search
from outtake.media.dedup.matcher import N_VARIANTS, Signature, Thresholds

FORMAT = "outtake-hashes/1"
_HEX64 = re.compile(r"^([0-9a-fA-F]{64})\b")


class HashListError(ValueError):
    pass


@dataclass
class ParsedList:
    sha256: set[str] = field(default_factory=set)
    # (N, variants, 32) frame hashes; plain PDQ lists repeat the one hash in every variant.
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, N_VARIANTS, 32), np.uint8))


def parse(text: str, kind: str = "auto") -> ParsedList:
    """A hash list file's content; kind is sha256, pdq, outtake or auto (outtake files only:
    a plain list of 64-hex-digit lines is ambiguous)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if kind == "auto":
        if not lines or not lines[0].startswith("{"):
            raise HashListError("say whether this list holds sha256 or pdq hashes")
        kind = "outtake"
    parsed = ParsedList()
    if kind == "outtake":
        frames: list[dict] = []
        for number, line in enumerate(lines):
            item = json.loads(line)
            if number == 0:
                if item.get("format") != FORMAT:
                    raise HashListError(f"not an {FORMAT} file")
                continue
            if item.get("sha256"):
                parsed.sha256.add(item["sha256"].lower())
            frames.extend(f for shot in item.get("shots", []) for f in shot["frames"])
        parsed.frames = Signature.from_frames(frames).hashes
        return parsed
    if kind not in ("sha256", "pdq"):
        raise HashListError("kind must be sha256, pdq or outtake")
    digests = []
    for line in lines:
        found = _HEX64.match(line)
        if not found:
            raise HashListError(f"not a 64-hex-digit hash: {line[:80]!r}")
        digests.append(found.group(1).lower())
    if kind == "sha256":
        parsed.sha256 = set(digests)
    else:
        parsed.frames = Signature.from_frames([{"hash": d} for d in digests]).hashes
    return parsed


def bag_index(frames: np.ndarray) -> HashIndex:
    """An index over a bag of frames' variants; an entry's id is frame × variants + variant.
    Variants equal to the frame's full hash (all of a plain PDQ list's) are indexed once, and
    absent ones (an extra frame's central regions) not at all; nor are quadrants (a bag is
    matched frame by frame, and one quadrant is too little of a frame) or the query-only
    variants (hashes.py), which clips do not search a bag for either: 44 more queries a frame
    at the frame threshold would be 8 times the search."""
    n = len(frames)
    left_out = (frames == frames[:, :1]).all(axis=-1)
    left_out[:, 0] = False
    left_out[:, FIRST_QUADRANT:] = True
    keep = ~left_out.ravel()
    ids = np.arange(n * N_VARIANTS, dtype=np.int64)[keep]
    return HashIndex(frames.reshape(n * N_VARIANTS, 32)[keep], ids)


def match_against_bag(clip: Signature, index: HashIndex, thresholds: Thresholds) -> dict | None:
    """Evidence that enough of a clip's frames are in the bag, or None.

    A bag has no order (a PDQ list need not come from one video), so this counts the clip's
    frames found in it: at least min_coverage of them, and min_frames (or all of a shorter
    clip); see the module's docstring."""
    sampled = int((~clip.extra).sum())  # extras are not searched for, nor counted
    if not sampled:
        return None
    hits = frame_search(index, clip.hashes, thresholds.frame_bits, parts=False)
    best: dict[int, int] = {}
    for q, d in zip(hits.query // N_VARIANTS, hits.distance, strict=True):
        best[int(q)] = min(best.get(int(q), 256), int(d))
    matched = len(best)
    coverage = matched / sampled
    if matched < min(thresholds.min_frames, sampled) or coverage < thresholds.min_coverage:
        return None
    return {
        "coverage": round(coverage, 3),
        "pairs": [[float(clip.times[i]), None, d] for i, d in sorted(best.items())],
    }


def write_header() -> str:
    return json.dumps({"format": FORMAT})


def listed(variants: list[str]) -> list[str]:
    """A frame's variants (hex) as hash files carry them: without the query-only ones, which
    a bag is not searched for (bag_index), 44 of 54."""
    return variants[:FIRST_QUERY_ONLY]


def write_entry(path: str, sha256: str, shots: Iterable[dict]) -> str:
    shots = [
        {**shot, "frames": [{**f, "h": listed(f["h"])} for f in shot["frames"]]} for shot in shots
    ]
    return json.dumps({"path": path, "sha256": sha256, "shots": shots})
