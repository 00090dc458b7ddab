"""Frame hashes for deduplication: PDQ of the frame, its mirror, regions and quadrants.

PDQ survives re-encoding, resizing, grey and colour changes, but not a mirror or a crop
(crop 10 % moves a hash by 86–132 bits of 256, as far as unrelated pictures; FIELD-NOTES).
So each sampled frame is hashed in the same pass as the frame, its left-right mirror (from
pdqhash's dihedral hashes, no second DCT), and its central 95, 90, 85 and 80 %, which are
what a copy cropped by 2.5, 5, 7.5 or 10 % per side shows. A crop between two of them is at
most 1.25 % per side from one: a crop 1 % off moves a hash by a median 22–24 bits, 2.5 % off
by 44–52 (measured on the fixtures' frames), so steps of 5 % (the 90 and 80 % alone) missed crops
of 7.5 %. On footage that changes fast, sampled sparsely, 1.25 % off was still too far (the
ThreatExchange pattern clip cropped by 3.75 or 6.25 %), so a frame is also hashed at the shares
halfway, its central 97.5, 92.5, 87.5 and 82.5 %: compared with full frames (a copy cropped by
that share), and the 97.5 % with the central regions (a copy cropped by 1.25 % less than a
region's share shows as its own central 97.5 % what that region shows, within 0.5 % a side).
The regions are hashed from one luma by regions.py, bit for bit as pdqhash would (0.13 ms a
region, against 1.1–1.3 ms). Bars are cropped first, as for the catalogue's PDQ hashes, so that
a letterboxed copy hashes like its source.

A copy cut on one side only (10 % off the right) is shifted as well as scaled, and centred
regions do not survive a shift: its frames are 98–106 bits from its source's. So a frame is
also hashed cut, by each central region's share, on each side (16 "cut" variants: what a copy
cut so shows, compared with full frames) and as each central region of a source it would be a
copy of, had it been cut so (16 "as central" variants, compared with that central region).
Either side of a pair may be the copy; a cut between two shares is at most 1.25 % from one (a
median 15–17 bits on the fixtures' frames). A copy cropped on two opposite sides only (a change
of aspect ratio: 5 % off the left and right leaves frames a median 44 bits from their source's)
is met by central regions of one axis at each share (8 "one-axis" variants: the central 90 %
across the whole height, and down the whole width). The cuts, halfway and one-axis regions are
the index's queries but not its entries (index.py): the index keeps its size, and the 48
regions other than the quadrants cost 1.6 ms a frame together, sharing their passes over the picture
(regions.region_hashes). Crops unequal on two or more sides are not followed.

An overlay over part of the picture (a large logo, a caption band, a picture-in-picture) moves
the full hash as far as a new picture: the ThreatExchange pattern clip's version with a large
drawn face over its upper middle is 50–76 bits from the others at every instant. So each frame
is also hashed in quadrants (top-left, top-right, bottom-left, bottom-right): the matcher pairs
two frames through them when two quadrants in the same places match (the face leaves both
lower ones 0–22 bits from the other versions'), never through one, which a shared patch of
sky or road could do, nor through quadrants that stay put in their clip (matcher.py).

Where the picture changes within a second, a copy's samples fall between the source's (a copy
at another speed, or one frame out on footage that changes 40–75 bits per frame, as the
ThreatExchange pattern clips do) and match none of them. So extra frames are hashed between
the samples: the served frame just after each sample, then the first one after each further
quarter second (at most four a second), each when its picture moved by more than EXTRA_CHANGE
grey levels on average since the last frame taken, on a 16×9 thumbnail of the shots step's
picture, which every served frame has (no decode or scaling is added: static footage pays a
thumbnail per quarter second, 0.05 ms). They are hashed at the next sample, and only if the two
samples around them are more than EXTRA_SAMPLE_BITS apart: between closer samples any frame
of a copy is near one of them. An extra is hashed from that picture halved to 160 px (0.5 ms):
its full frame, mirror (one dihedral PDQ) and quadrants, written with "x": 1; its central
regions are absent, stored as zeros, which no kept frame hashes to (a flat picture is dropped
for low quality). The index holds extras; the matcher pairs them only with sampled frames and never
counts them in a clip's coverage (matcher.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from outtake.media.analysis.decode import Frame, PhotoSource, VideoSource
from outtake.media.analysis.hashes import (
    COLLAPSE_BITS,
    MIN_QUALITY,
    PdqHashes,
    PdqView,
    frame_pdq_view,
    pdq_view,
)
from outtake.media.analysis.pipeline import Context, Pipeline, Step
from outtake.media.analysis.shots import Shots
from outtake.media.dedup.regions import Box, luma, region_hash, region_hashes
from outtake.media.probe import probe

# Share of each side cut off by the central-region variants.
_CENTRAL = {"c95": 0.025, "c90": 0.05, "c85": 0.075, "c80": 0.10}
# One side cut off by a central region's share: "cutl5" is the frame without its left 5 %
# (what a copy cut so shows: compared with full frames), "cutl5_c90" the part of a frame cut
# so that its source's c90 shows (compared with central regions c90).
_CUTS = tuple((side, name) for name in _CENTRAL for side in "ltrb")
_CUT = tuple(f"cut{side}{_CENTRAL[name] * 100:g}" for side, name in _CUTS)
_AS_CENTRAL = tuple(f"cut{side}{_CENTRAL[name] * 100:g}_{name}" for side, name in _CUTS)
# Central regions halfway between two of _CENTRAL's shares (and the full frame's): what a copy
# cropped by that share shows (compared with full frames). A copy cropped by a share shows as
# its own central 97.5 % what its source's next region up shows: within 0.5 % a side.
_MIDDLE = {"c97.5": 0.0125, "c92.5": 0.0375, "c87.5": 0.0625, "c82.5": 0.0875}
# Central regions of one axis, by a central region's share: "c90w" is the central 90 % across
# the whole height (what a copy cropped on the left and right shows: compared with full
# frames), "c90h" down the whole width (a copy cropped so shows it where its source shows c90:
# compared with that region), and the other way round for a copy cropped top and bottom.
_AXES = tuple((f"{name}{axis}", name, axis) for name in _CENTRAL for axis in "wh")
# The order is stored (FrameHash rows, lists): new variants go last; frames hashed before
# the later ones existed have them absent (zeros).
VARIANTS = (
    *("full", "mirror", "c90", "c80", "c95", "c85", "q_tl", "q_tr", "q_bl", "q_br"),
    *_CUT,
    *_AS_CENTRAL,
    *_MIDDLE,
    *(variant for variant, _, _ in _AXES),
)
FIRST_QUADRANT = VARIANTS.index("q_tl")
# The cuts, halfway and one-axis regions, from here on, are searched for but never indexed
# (index.INDEXED) nor listed (lists.listed).
FIRST_QUERY_ONLY = VARIANTS.index(_CUT[0])
QUADRANTS = slice(FIRST_QUADRANT, FIRST_QUERY_ONLY)


def _paired() -> np.ndarray:
    """Which two variants the matcher compares, either way round: the full frame with every
    other whole-picture one (a re-encode, a mirror, a crop, on either side), with the frame
    cut on one side, with the central regions between two shares and with those of one axis;
    a frame cut on one side as its source's central region with that region; the central
    97.5 % with each central region; a central region of one axis with the central region of
    its share. Quadrants pair in the same place, and only two by two (matcher.py)."""
    index = {name: number for number, name in enumerate(VARIANTS)}
    paired = np.zeros((len(VARIANTS), len(VARIANTS)), bool)
    paired[0, :FIRST_QUADRANT] = True
    paired[0, [index[v] for v in (*_CUT, *_MIDDLE)]] = True
    for (_, name), variant in zip(_CUTS, _AS_CENTRAL, strict=True):
        paired[index[variant], index[name]] = True
    paired[index["c97.5"], [index[name] for name in _CENTRAL]] = True
    for variant, name, _ in _AXES:
        paired[index[variant], [0, index[name]]] = True
    paired |= paired.T
    quadrant = np.arange(FIRST_QUADRANT, FIRST_QUERY_ONLY)
    paired[quadrant, quadrant] = True
    return paired


PAIRED = _paired()


def is_sampled(frames: np.ndarray) -> np.ndarray:
    """Which of frames (N, variants, 32) are samples, not extras: an extra's central regions
    are absent (zeros)."""
    return frames[:, 2:FIRST_QUADRANT].any(axis=(1, 2))


# pdqhash.compute_dihedral's order: the left-right mirror is the sixth hash.
_MIRROR = 5
# Extras (see above): one per quarter second at most; where a thumbnail's grey levels moved by
# more than this on average (measured on the fixtures and bench input, a move of 3–4 levels is
# a median 27 PDQ bits, 4–6 levels 44, 1–2 levels 14); between samples more than this many
# bits apart (twice a frame threshold's worth).
EXTRA_EVERY_S = 0.25
EXTRA_CHANGE = 4.0
EXTRA_SAMPLE_BITS = 64
_EPS_S = 5e-4


def _packed(bits: np.ndarray) -> bytes:
    return np.packbits(bits.astype(np.uint8)).tobytes()


def frame_variants(picture: np.ndarray) -> tuple[int, list[bytes]]:
    """(quality, [VARIANTS' 32-byte PDQ hashes]) of an RGB picture."""
    return view_variants(pdq_view(picture))


def view_variants(view: PdqView) -> tuple[int, list[bytes]]:
    """frame_variants() of a picture whose PDQ view is already made (by the pdq step)."""
    whole = [_packed(view.dihedral[0]), _packed(view.dihedral[_MIRROR])]
    picture_luma = luma(view.picture)
    shape = picture_luma.shape
    central = [central_box(shape, _CENTRAL[name]) for name in VARIANTS[2:FIRST_QUADRANT]]
    middle = [central_box(shape, share) for share in _MIDDLE.values()]
    axes = [axis_box(shape, _CENTRAL[name], axis) for _, name, axis in _AXES]
    regions = region_hashes(picture_luma, central + cut_boxes(shape) + middle + axes)
    quadrants = _quadrants(picture_luma)
    return view.quality, [*whole, *regions[: len(central)], *quadrants, *regions[len(central) :]]


def central_box(shape: tuple[int, int], share: float) -> Box:
    height, width = shape
    dy, dx = round(height * share), round(width * share)
    return dy, height - dy, dx, width - dx


def axis_box(shape: tuple[int, int], share: float, axis: str) -> Box:
    """The central region of one axis: share off the left and right (w) or top and bottom."""
    top, bottom, left, right = central_box(shape, share)
    return (0, shape[0], left, right) if axis == "w" else (top, bottom, 0, shape[1])


def cut_boxes(shape: tuple[int, int]) -> list[Box]:
    """The regions of the cut variants (VARIANTS' order). A copy without share s of its left
    side shows its source's [s, 1] across; the source's central region, [s, 1 − s] across and
    down, is that copy's [0, (1 − 2s) / (1 − s)] across and [s, 1 − s] down."""
    height, width = shape
    cut, as_central = [], []
    for side, name in _CUTS:
        share = _CENTRAL[name]
        top, bottom, left, right = central_box(shape, share)
        kept = (1 - 2 * share) / (1 - share)
        if side == "l":
            cut.append((0, height, round(width * share), width))
            as_central.append((top, bottom, 0, round(width * kept)))
        elif side == "r":
            cut.append((0, height, 0, width - round(width * share)))
            as_central.append((top, bottom, width - round(width * kept), width))
        elif side == "t":
            cut.append((round(height * share), height, 0, width))
            as_central.append((0, round(height * kept), left, right))
        else:
            cut.append((0, height - round(height * share), 0, width))
            as_central.append((height - round(height * kept), height, left, right))
    return cut + as_central


def _quadrants(picture_luma: np.ndarray) -> list[bytes]:
    """The four quadrants' hashes (VARIANTS' order), absent (zeros) where of low quality (flat:
    sky, a wall)."""
    height, width = picture_luma.shape
    mid_y, mid_x = height // 2, width // 2
    hashes = []
    for top, bottom in ((0, mid_y), (mid_y, height)):
        for left, right in ((0, mid_x), (mid_x, width)):
            quadrant, quality = region_hash(picture_luma, top, bottom, left, right)
            hashes.append(quadrant if quality >= MIN_QUALITY else bytes(32))
    return hashes


def _bits_apart(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a) ^ int.from_bytes(b)).bit_count()


def _halved(picture: np.ndarray) -> np.ndarray:
    """The shots step's picture at 160 px (an exact halving, OpenCV's fast path)."""
    height, width = picture.shape[:2]
    return cv2.resize(picture, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def _thumbnail(halved: np.ndarray) -> np.ndarray:
    """Grey means of 10×10 blocks of the 160-px picture (16×9 for 16:9; whole blocks only,
    OpenCV's fast path): about the scale of detail PDQ sees."""
    grey = cv2.cvtColor(halved, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape[0] // 10, grey.shape[1] // 10
    return cv2.resize(
        grey[: height * 10, : width * 10], (width, height), interpolation=cv2.INTER_AREA
    )


Hashed = tuple[float, int, list[bytes]]  # (t, quality, variants)


class DedupHashes(Step):
    """Per shot: [{"t": seconds, "q": quality, "h": [VARIANTS' hashes] hex}] of the
    sampled frames, with low quality frames dropped and near-identical consecutive ones
    collapsed (as PdqHashes does), and the extras {"t", "q", "h": [...], "x": 1}
    (see the module's notes), in time order."""

    name = "dedup"
    # 2: extras where the picture changes fast; 3: central 95 and 85 %, quadrants; 4: cuts,
    # halfway and one-axis regions
    version = 4
    needs = (PdqHashes.FRAMES, Shots.FRAMES)

    def __init__(self) -> None:
        super().__init__()
        self._frames: dict[int, Hashed] = {}
        self._extras: dict[int, Hashed] = {}
        self._latest = -1  # the latest frame served in the pass (shot starts come after it)
        self._last_thumbnail: np.ndarray | None = None  # of the last frame hashed or pending
        self._next_extra_s = 0.0
        # Extras since the last sample, hashed or dropped at the next (_settle): (index, t,
        # 160-px picture); and the last sample's full-frame hash (None if low quality).
        self._pending: list[tuple[int, float, np.ndarray]] = []
        self._last_sample: bytes | None = None

    def consume(self, frame: Frame) -> None:
        in_pass = frame.index > self._latest
        self._latest = max(self._latest, frame.index)
        picture = frame.images.get(Shots.FRAMES.name)
        view = frame_pdq_view(frame)
        if view is not None:
            if in_pass and picture is not None:
                self._last_thumbnail = _thumbnail(_halved(picture))
                self._next_extra_s = frame.t  # the frame after a sample may be an extra
                self._settle(view)
            if frame.index not in self._frames:
                self._sample(frame, view)
        elif in_pass and picture is not None and frame.t >= self._next_extra_s - _EPS_S:
            self._next_extra_s = frame.t + EXTRA_EVERY_S
            self._candidate(frame, picture)

    def _sample(self, frame: Frame, view: PdqView) -> None:
        quality, hashes = view_variants(view)
        if quality < MIN_QUALITY:
            self.stats.count("low_quality")
            return
        self._frames[frame.index] = (frame.t, quality, hashes)

    def _candidate(self, frame: Frame, picture: np.ndarray) -> None:
        halved = _halved(picture)
        thumbnail = _thumbnail(halved)
        last = self._last_thumbnail
        if last is not None and cv2.norm(thumbnail, last, cv2.NORM_L1) <= (
            EXTRA_CHANGE * thumbnail.size
        ):
            return
        self._last_thumbnail = thumbnail
        self._pending.append((frame.index, frame.t, halved))

    def _settle(self, sample: PdqView | None) -> None:
        """Hash the pending extras when the samples either side of them are more than
        EXTRA_SAMPLE_BITS apart (or one is unknown), else drop them: between closer samples,
        a frame of a copy is close enough to one of them."""
        full = _packed(sample.dihedral[0]) if sample and sample.quality >= MIN_QUALITY else None
        last, self._last_sample = self._last_sample, full
        pending, self._pending = self._pending, []
        if full is not None and last is not None and _bits_apart(full, last) <= EXTRA_SAMPLE_BITS:
            self.stats.count("extras_dropped", len(pending))
            return
        for index, t, halved in pending:
            view = pdq_view(cv2.cvtColor(halved, cv2.COLOR_BGR2RGB))
            if view.quality >= MIN_QUALITY:
                hashes = [_packed(view.dihedral[0]), _packed(view.dihedral[_MIRROR])]
                central = [bytes(32)] * (FIRST_QUADRANT - 2)  # absent: what marks an extra
                quadrants = _quadrants(luma(view.picture))
                self._extras[index] = (t, view.quality, hashes + central + quadrants)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        self._settle(None)  # extras after the last sample
        results = []
        ordered = sorted(self._frames.items())
        extras = sorted(self._extras.items())
        for shot in context.shots:
            kept: list[Hashed] = []
            for index, (t, quality, hashes) in ordered:
                if not shot.start_frame <= index < shot.end_frame:
                    continue
                if kept and _bits_apart(kept[-1][2][0], hashes[0]) <= COLLAPSE_BITS:
                    continue
                kept.append((t, quality, hashes))
            frames = [{"t": round(t, 3), "q": q, "h": [h.hex() for h in hs]} for t, q, hs in kept]
            frames += [
                {"t": round(t, 3), "q": q, "h": [h.hex() for h in hs], "x": 1}
                for index, (t, q, hs) in extras
                if shot.start_frame <= index < shot.end_frame
            ]
            self.stats.count("kept", len(kept))
            self.stats.count("extras", len(frames) - len(kept))
            results.append({"dedup": sorted(frames, key=lambda f: f["t"])})
        return results


def hash_media(path: str | Path, *, min_shot_s: float = 1.0) -> list[dict[str, Any]]:
    """Shots of a local video or photo with their dedup frame hashes, for `outtake hashes`:
    [{"start_s", "end_s", "frames": [{"t", "q", "h"}]}]. Raises MediaError if unreadable."""
    info = probe(path)
    source = PhotoSource(path) if info["kind"] == "image" else VideoSource(path)
    try:
        result = Pipeline(Shots(min_shot_s=min_shot_s), [DedupHashes()]).run(source, info)
    finally:
        source.close()
    return [
        {"start_s": s["start_s"], "end_s": s["end_s"], "frames": s.get("dedup", [])}
        for s in result["shots"]
    ]
