"""The matcher on generated variants: each transform matches its source, unrelated do not."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from outtake.media.dedup import matcher
from outtake.media.dedup.groups import group_near_duplicates
from outtake.media.dedup.hashes import (
    FIRST_QUADRANT,
    FIRST_QUERY_ONLY,
    PAIRED,
    QUADRANTS,
    frame_variants,
)
from outtake.media.dedup.index import (
    FORMAT,
    INDEXED,
    HashIndex,
    brute_force,
    catalogue_entries,
    entry_ids,
    frame_queries,
    frame_search,
    is_full_frame,
    is_paired,
    thinned,
)
from outtake.media.dedup.lists import bag_index, match_against_bag, parse
from outtake.media.dedup.matcher import (
    N_VARIANTS,
    Signature,
    Thresholds,
    frame_distances,
    match_clips,
)
from outtake.media.dedup.transforms import TRANSFORMS, transform_photo
from tests.dedup.conftest import shots_of

FIXTURES = Path(__file__).parent.parent / "fixtures"
PHOTOS = ["astronaut.png", "coffee.png"]


def photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "photo" / name).convert("RGB"))


def signature(pictures: list[np.ndarray], times: list[float] | None = None) -> Signature:
    frames = []
    for i, picture in enumerate(pictures):
        _, hashes = frame_variants(picture)
        frames.append({"t": times[i] if times else float(i), "h": [h.hex() for h in hashes]})
    return Signature.from_frames(frames)


@pytest.mark.parametrize("name", [n for n in TRANSFORMS if not n.startswith("speed")])
def test_each_transform_of_a_photo_matches_it_and_not_another(name):
    for source, other in (PHOTOS, PHOTOS[::-1]):
        original = signature([photo(source)])
        copy = signature([transform_photo(photo(source), name)])
        assert match_clips(copy, original) is not None, (name, source)
        assert match_clips(original, copy) is not None, (name, source)
        assert match_clips(copy, signature([photo(other)])) is None


def test_the_threatexchange_modes_family_matches_itself():
    pictures = [
        np.asarray(Image.open(p).convert("RGB"))
        for p in sorted((FIXTURES / "photo" / "modes").iterdir())
        if p.stem not in ("F", "I")  # float and int32 modes lose the picture when made RGB
    ]
    family = [signature([p]) for p in pictures]
    assert all(match_clips(family[0], s) for s in family[1:])
    assert all(match_clips(s, signature([photo(n)])) is None for s in family for n in PHOTOS)


PATTERN = [
    "te-pattern-hd-no-bar.mp4",
    "te-pattern-longer-no-bar.mp4",  # one frame later from 1.5 s on, and 1.2 s longer
    "te-pattern-sd-grey-bar.mp4",
    "te-pattern-sd-with-large-logo-bar.mp4",
    "te-pattern-sd-with-small-logo-bar.mp4",
]


def video(name: str) -> Signature:
    return Signature.from_frames(
        [f for shot in shots_of(FIXTURES / "video" / name) for f in shot["frames"]], name
    )


def test_the_threatexchange_pattern_family_matches_itself_and_unrelated_videos_do_not():
    """Five versions of one clip (pillarboxed, grey, a small logo, a large drawn face over the
    upper middle, one frame out of step): every pair matches both ways (the large face's
    through the quadrants it leaves alone); no version matches an unrelated video, and the
    catalogue's index finds each pair as a candidate within its radii (dedup.services: these
    clips of 7 samples are short, their regions searched within 35 bits)."""
    family = {name: video(name) for name in PATTERN}
    pairs = set(itertools.combinations(PATTERN, 2))
    matched = {(a, b) for a, b in pairs if match_clips(family[a], family[b])}
    assert matched == pairs
    assert all(match_clips(family[b], family[a]) for a, b in matched)
    unrelated = [video(n) for n in ("bikes.mp4", "bigbuckbunny.mp4", "te-doorknob-hd-no-bar.mp4")]
    for member, other in itertools.product(family.values(), unrelated):
        assert match_clips(member, other) is None and match_clips(other, member) is None
    for a, b in matched:
        index = HashIndex(*catalogue_entries(family[b].hashes, np.arange(len(family[b]))))
        assert len(frame_search(index, family[a].hashes, 35, 35).ids)


@pytest.mark.parametrize("name", ["crop 3.75%", "crop 6.25%"])
def test_fast_footage_cropped_between_two_regions_shares_matches(variant, name):
    """The pattern clip changes 40–75 bits a frame and has 7 samples: cropped halfway between
    two central regions' shares, it matches through the halfway regions, both ways."""
    source = FIXTURES / "video" / PATTERN[0]
    copy = Signature.from_frames(
        [f for shot in shots_of(variant(source, name)) for f in shot["frames"]]
    )
    assert match_clips(copy, video(PATTERN[0])) and match_clips(video(PATTERN[0]), copy)


SUB_CLIPS = (
    *("re-encode", "speed+25%", "speed-25%", "crop 10%", "crop 8.75%", "pillarbox"),
    *("cut 10% right", "cut 6.25% left", "crop 5% left and right"),
)


@pytest.fixture(scope="module")
def bikes(variant):
    """bikes.mp4 and copies of its seconds 2–8: re-encoded, 25 % faster or slower, cropped
    10 % and 8.75 % (between two central regions' shares), pillarboxed, cut 10 % on the right
    and 6.25 % on the left (between two cut variants' shares), cropped 5 % on the left and
    right."""
    source = FIXTURES / "video" / "bikes.mp4"
    flat = lambda path: Signature.from_frames(  # noqa: E731
        [f for shot in shots_of(path) for f in shot["frames"]]
    )
    copies = {name: flat(variant(source, name, start_s=2, end_s=8)) for name in SUB_CLIPS}
    return flat(source), copies, flat(FIXTURES / "video" / "bigbuckbunny.mp4")


@pytest.mark.parametrize("name", SUB_CLIPS)
def test_a_transformed_sub_clip_matches_its_source_in_order(bikes, name):
    source, copies, unrelated = bikes
    match = match_clips(copies[name], source)
    assert match is not None
    firsts = [p[1] for p in match.pairs]
    assert firsts == sorted(firsts) and firsts[0] >= 1.5 and firsts[-1] <= 8.5
    assert match_clips(copies[name], unrelated) is None


def test_frames_out_of_order_do_not_make_a_match(bikes):
    source, _, _ = bikes
    reversed_ = Signature(source.times.max() - source.times, source.hashes)
    strict = Thresholds(min_coverage=0.8)
    assert match_clips(source, source, strict) is not None
    assert match_clips(reversed_, source, strict) is None


def test_extras_pair_only_with_sampled_frames_and_never_count_in_coverage():
    """Extras (hashed between samples where the picture changes fast) let a copy whose samples
    fall between the source's match; two extras never pair, and coverage counts samples."""
    rng = np.random.default_rng(3)
    pictures = rng.integers(0, 256, (3, 4, 4, 32), dtype=np.uint8)  # 3 unrelated clips' frames

    def frames(which: int, start: float, extra: bool) -> list[dict]:
        return [
            {"t": start + i, "h": [h.tobytes().hex() for h in f[: 2 if extra else 4]], "x": extra}
            for i, f in enumerate(pictures[which])
        ]

    source = Signature.from_frames(frames(0, 0.0, False) + frames(1, 0.5, True))
    assert list(source.extra) == [False] * 4 + [True] * 4
    assert not source.hashes[source.extra][:, 2:].any()  # no central regions
    copy = Signature.from_frames(frames(1, 0.0, False))  # samples where the source has extras
    match = match_clips(copy, source)
    assert match is not None and match.coverage == 1.0
    assert [p[1] for p in match.pairs] == [0.5, 1.5, 2.5, 3.5]
    other = Signature.from_frames(frames(2, 0.0, False) + frames(1, 0.5, True))
    assert match_clips(other, source) is None  # their extras alike, their samples not


def test_the_index_finds_what_a_linear_scan_finds():
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    index = HashIndex(hashes[:15_000], np.arange(15_000))
    index.add(hashes[15_000:], np.arange(15_000, 20_000))
    bits = np.unpackbits(hashes[::1000], axis=1)
    for row, flips in enumerate(rng.integers(0, 256, (len(bits), 31))):
        bits[row, flips] ^= 1
    queries = np.packbits(bits, axis=1)
    found = index.search(queries, 31)
    scan = brute_force(np.concatenate([index.words, index.tail_words]), queries, 31)
    assert sorted(zip(found.query, found.ids, strict=True)) == sorted(
        zip(scan.query, scan.ids, strict=True)
    )
    assert set(found.ids) >= set(range(0, 20_000, 1000))


def catalogue_like_index(rng, frames: int) -> tuple[HashIndex, np.ndarray]:
    """Entries as the catalogue stores them (INDEXED variants of each frame; id = frame ×
    variants + variant), a sixth of them in the tail; and 40 clip frames' query variants, half
    of them planted within 35 bits of an entry of any variant."""
    hashes = rng.integers(0, 256, (frames * len(INDEXED), 32), dtype=np.uint8)
    ids = entry_ids(np.arange(frames))
    cut = len(ids) * 5 // 6
    index = HashIndex(hashes[:cut], ids[:cut])
    index.add(hashes[cut:], ids[cut:])
    queries = rng.integers(0, 256, (40 * N_VARIANTS, 32), dtype=np.uint8)
    planted = len(queries) // 2
    bits = np.unpackbits(hashes[rng.choice(len(hashes), planted, replace=False)], axis=1)
    for row in bits:
        row[rng.choice(256, rng.integers(0, 36), replace=False)] ^= 1
    queries[rng.choice(len(queries), planted, replace=False)] = np.packbits(bits, axis=1)
    return index, queries.reshape(40, N_VARIANTS, 32)


def central(variant: np.ndarray) -> np.ndarray:
    """Which variants are the indexed central regions."""
    return (variant >= 2) & (variant < FIRST_QUADRANT)


@pytest.mark.parametrize("every", [1, 3])
def test_the_split_search_finds_what_a_linear_scan_keeps(every):
    """Searching only the pairs of variants the matcher compares, all but full frames and
    mirrors within the smaller radius, and the query-only variants of every every-th frame,
    finds exactly the pairs of a linear scan that the matcher keeps."""
    index, frames = catalogue_like_index(np.random.default_rng(5), 5_000)
    found = frame_search(index, frames, 35, 23, query_only_every=every)
    queries = frame_queries(frames)
    scan = brute_force(np.concatenate([index.words, index.tail_words]), queries, 35)
    ids = np.concatenate([index.ids, index.tail_ids])[scan.ids]
    variant, entry = scan.query % N_VARIANTS, ids % N_VARIANTS
    kept = PAIRED[variant, entry] & ((variant < 2) | (scan.distance <= 23))
    asked = thinned(frames, every)[scan.query // N_VARIANTS] | (variant < FIRST_QUERY_ONLY)
    assert (kept & ~asked).any() == (every > 1)  # frames between are not asked
    kept &= asked
    expected = sorted(zip(scan.query[kept], ids[kept], scan.distance[kept], strict=True))
    assert sorted(zip(found.query, found.ids, found.distance, strict=True)) == expected
    assert len(expected) >= 20 and kept.sum() < len(kept)  # pairs of every kind left out
    near_regions = central(variant) & is_full_frame(ids)
    assert (near_regions & (scan.distance > 23)).any() and (near_regions & kept).any()
    assert ((variant >= QUADRANTS.start) & (variant < QUADRANTS.stop) & kept).any()
    query_only = variant >= FIRST_QUERY_ONLY
    assert (query_only & kept & is_full_frame(ids)).any()
    assert (query_only & kept & central(entry)).any()
    assert (query_only & ~kept & (scan.distance <= 23)).any()  # e.g. beside another region
    left = ~kept & asked & (scan.distance <= 23)
    assert not is_paired(scan.query[left], ids[left]).any()


def test_absent_variants_are_neither_indexed_nor_searched_for():
    hashes = np.random.default_rng(7).integers(0, 256, (4, 32), dtype=np.uint8)
    hashes[1] = 0  # an extra frame's central region: not computed
    index = HashIndex(hashes, np.arange(4))
    index.add(np.zeros((1, 32), np.uint8), [9])
    assert len(index) == 3
    assert not len(index.search(np.zeros((1, 32), np.uint8), 35).ids)  # others lie far off
    extra = np.stack([hashes[0], hashes[2]] + [hashes[1]] * (N_VARIANTS - 2))[None]  # no regions
    extra[0, QUADRANTS] = hashes[3]  # an extra's quadrants are hashed
    queries = frame_queries(extra)
    assert not queries.any()  # extras are there to be found, not to search
    assert Signature(np.zeros(1), extra).extra.all()


def test_an_index_saved_in_an_older_layout_loads_stale(tmp_path):
    """Before format 3 ids were frame × 4 (before 2, tables were keyed differently too), before
    4 frame × 10: such an index is not searched but rebuilt from the frames by its owner (the
    catalogue from its rows, a list from its blob), and its ids still say which frame they
    are."""
    index, _ = catalogue_like_index(np.random.default_rng(6), 200)
    index.save(tmp_path)
    assert not HashIndex.load(tmp_path).stale and HashIndex.load(tmp_path).variants == N_VARIANTS
    older = {None: 4, 2: 4, 3: 10}
    for version, variants in older.items():
        meta = {"entries": len(index)} | ({"format": version} if version else {})
        (tmp_path / "meta.json").write_text(json.dumps(meta))
        loaded = HashIndex.load(tmp_path)
        assert loaded.stale and loaded.variants == variants
    assert FORMAT == 4


def test_removed_entries_are_not_found_from_the_tables_the_tail_or_a_reload(tmp_path):
    hashes = np.random.default_rng(2).integers(0, 256, (40, 32), dtype=np.uint8)
    index = HashIndex(hashes[:30], np.arange(30))
    index.add(hashes[30:], np.arange(30, 40))
    index.remove(np.array([3, 35]))  # one in the tables, one in the tail
    assert sorted(index.search(hashes, 0).ids) == sorted(set(range(40)) - {3, 35})
    index.save(tmp_path)
    loaded = HashIndex.load(tmp_path)
    assert sorted(loaded.search(hashes, 0).ids) == sorted(set(range(40)) - {3, 35})
    merged = loaded.merged()
    assert len(merged) == 38 and not len(merged.removed_ids)
    assert sorted(merged.search(hashes, 0).ids) == sorted(set(range(40)) - {3, 35})


def test_two_frames_pair_through_two_quadrants_in_the_same_places_never_one():
    rng = np.random.default_rng(8)
    source = rng.integers(0, 256, (3, N_VARIANTS, 32), dtype=np.uint8)  # ~128 bits from all
    covered = rng.integers(0, 256, (3, N_VARIANTS, 32), dtype=np.uint8)  # an overlay on top

    def copy(kept: list[int]) -> Signature:
        hashes = covered.copy()
        hashes[:, kept] = source[:, kept]
        return Signature(np.arange(3.0), hashes)

    original = Signature(np.arange(3.0), source)
    q = QUADRANTS.start
    assert match_clips(copy([q + 2, q + 3]), original) is not None  # the lower half left alone
    assert match_clips(copy([q + 1, q + 2]), original) is not None  # any two places
    assert match_clips(copy([q + 3]), original) is None  # one quadrant never pairs
    moved = copy([q + 2, q + 3])
    moved.hashes[:, [q + 2, q + 3]] = source[:, [q + 3, q + 2]]  # the same pictures elsewhere
    assert match_clips(moved, original) is None


def test_quadrants_that_stay_put_in_their_clips_never_pair():
    """Two drives filmed from one car's dashboard: the lower quadrants (bonnet, dashboard)
    are the same in every frame of both clips, the rest differs. They do not match; the
    same lower quadrants moving through both clips (a copy under an overlay) do."""
    rng = np.random.default_rng(9)
    q = QUADRANTS.start
    one, two = (rng.integers(0, 256, (6, N_VARIANTS, 32), dtype=np.uint8) for _ in range(2))
    dashboard = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    one[:, q + 2 : q + 4] = two[:, q + 2 : q + 4] = dashboard
    drives = Signature(np.arange(6.0), one), Signature(np.arange(6.0), two)
    assert drives[0].still[:, 2:].all() and not drives[0].still[:, :2].any()
    assert match_clips(*drives) is None
    two[:, q + 2 : q + 4] = one[:, q + 2 : q + 4] = rng.integers(0, 256, (6, 2, 32), np.uint8)
    assert match_clips(Signature(np.arange(6.0), one), Signature(np.arange(6.0), two))


def test_hash_lists_parse_and_match_as_a_bag():
    picture = photo("astronaut.png")
    _, hashes = frame_variants(picture)
    listed = parse(f"{hashes[0].hex()},100\n", "pdq")
    assert len(listed.frames) == 1
    assert not listed.frames[:, QUADRANTS.start :].any()  # nor quadrants nor cuts: one hash
    index = bag_index(listed.frames)
    assert match_against_bag(signature([transform_photo(picture, "mirror")]), index, Thresholds())
    assert not match_against_bag(signature([photo("coffee.png")]), index, Thresholds())
    assert parse("ab" * 32 + "  file.mp4\n", "sha256").sha256 == {"ab" * 32}
    with pytest.raises(ValueError):
        parse("ab" * 32 + "\n")  # a plain list must say which hashes it holds


def test_group_near_duplicates_puts_copies_together():
    a, b = photo("astronaut.png"), photo("coffee.png")
    items = {
        "a.png": signature([a]),
        "a-grey.png": signature([transform_photo(a, "grey")]),
        "b.png": signature([b]),
        "a-mirror.png": signature([transform_photo(a, "mirror")]),
    }
    groups = group_near_duplicates(items)
    assert sorted(map(sorted, groups)) == [["a-grey.png", "a-mirror.png", "a.png"], ["b.png"]]


def test_a_pdq_list_matches_per_hash_but_a_clip_needs_enough_of_its_frames():
    """Each listed hash is some frame, in no order; a clip is in the list when at least
    min_coverage of its frames are (40 % by default), and at least 2 (or all of a shorter
    clip)."""
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 256, (10, N_VARIANTS, 32), dtype=np.uint8)  # ~128 bits apart

    def clip(n: int) -> Signature:
        return Signature(np.arange(n, dtype=np.float64), frames[:n])

    def listed(rows: list[int], variant: int = 0) -> np.ndarray:
        bits = np.unpackbits(frames[rows, variant], axis=1)
        bits[:, rng.integers(0, 256, 12)] ^= 1  # a re-encode moves a hash a few bits
        text = "\n".join(h.tobytes().hex() for h in np.packbits(bits, axis=1)[::-1])
        return parse(text, "pdq").frames

    def matches(signature: Signature, bag: np.ndarray):
        return match_against_bag(signature, bag_index(bag), Thresholds())

    assert len(bag_index(listed([0, 1, 2]))) == 3  # one index entry per listed hash
    assert matches(clip(10), listed([0, 2, 4])) is None  # 3 of 10 frames
    found = matches(clip(10), listed([9, 0, 2, 4]))  # 4 of 10, listed in any order
    assert found is not None and found["coverage"] == 0.4
    assert matches(clip(3), listed([1])) is None  # one shared frame is not enough
    assert matches(clip(3), listed([0, 2])) is not None
    assert matches(clip(1), listed([0])) is not None  # a photo is one frame
    assert matches(clip(4), listed([0, 1], variant=1)) is not None  # their copy is mirrored
    assert matches(clip(4), listed([0, 1], variant=3)) is not None  # their copy is cropped


def test_long_clips_are_compared_a_block_of_frames_at_a_time(monkeypatch):
    """Blocks bound the memory of two long clips' comparison and change no distance."""
    rng = np.random.default_rng(12)
    source = rng.integers(0, 256, (40, N_VARIANTS, 32), dtype=np.uint8)
    copy = source.copy()
    copy[::3] = rng.integers(0, 256, (14, N_VARIANTS, 32), dtype=np.uint8)
    copy[5, 2:6] = 0  # an extra
    a, b = Signature(np.arange(40.0), source), Signature(np.arange(40.0), copy)
    whole = frame_distances(a, b)
    monkeypatch.setattr(matcher, "_BLOCK_PAIRS", 7)  # blocks of a frame or less
    assert (frame_distances(a, b) == whole).all() and (whole <= 36).sum() >= 20
