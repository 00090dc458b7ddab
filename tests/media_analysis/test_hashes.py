"""PDQ hashes: stable across re-encoding at another size, far apart for unrelated footage."""

from __future__ import annotations

import av
import numpy as np
import pdqhash
import pytest

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.hashes import hamming, pdq_hex, pdq_view

from .conftest import shots_video, write_clip

# PDQ's usual match threshold, in bits of 256.
MATCH = 31


def _hashes(result: dict) -> list[dict]:
    return [h for shot in result["shots"] for h in shot["pdq"]]


def _resized(path, size: tuple[int, int]):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.reformat(*size, "rgb24").to_ndarray()


@pytest.fixture(scope="module")
def hashed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdq")
    original = write_clip(folder / "a.mp4", shots_video([60], 125, size=(640, 360), seed=3))
    smaller = write_clip(folder / "b.mp4", _resized(original, (320, 180)), bit_rate=600_000)
    unrelated = write_clip(folder / "c.mp4", shots_video([60], 125, size=(640, 360), seed=50))
    return {
        name: analyse(path) for name, path in (("a", original), ("b", smaller), ("c", unrelated))
    }


def test_hashes_about_each_second_and_at_every_shot_start(hashed):
    shots = hashed["a"]["shots"]
    assert [shot["pdq"][0]["t"] for shot in shots] == [0.0, 60 / 25]
    assert all(1 <= len(shot["pdq"]) <= 4 for shot in shots)
    assert all(h["quality"] >= 50 and len(h["hash"]) == 64 for h in _hashes(hashed["a"]))


def test_the_same_video_at_another_size_hashes_alike(hashed):
    smaller = {h["t"]: h["hash"] for h in _hashes(hashed["b"])}
    for h in _hashes(hashed["a"]):
        assert hamming(h["hash"], smaller[h["t"]]) <= MATCH


def test_unrelated_footage_hashes_far_apart(hashed):
    for h in _hashes(hashed["a"]):
        assert min(hamming(h["hash"], u["hash"]) for u in _hashes(hashed["c"])) > 3 * MATCH


def test_a_frozen_shot_keeps_one_hash(clip):
    still = np.random.default_rng(2).integers(0, 256, (180, 320, 3), dtype=np.uint8)
    result = analyse(clip("still.mp4", (still for _ in range(100))))
    assert len(_hashes(result)) == 1


def test_hex_is_pdq_canonical_order():
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = 1  # pdqhash lists the most significant bit first
    assert pdq_hex(bits) == "8" + "0" * 63
    picture = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert hamming(pdq_hex(pdqhash.compute(picture)[0]), pdq_hex(pdqhash.compute(picture)[0])) == 0


def test_pdq_and_dedup_steps_share_one_pdq_computation_per_frame(clip, monkeypatch):
    computed = []
    dihedral = pdqhash.compute_dihedral

    def counted(picture):
        computed.append(picture.shape)
        return dihedral(picture)

    monkeypatch.setattr(pdqhash, "compute_dihedral", counted)
    result = analyse(clip("v.mp4", shots_video([37], 100, seed=4)))
    sampled = [shape for shape in computed if shape == (180, 320, 3)]
    assert len(sampled) == result["stats"]["pdq"]["hashed"] == 5  # 4 seconds, 1 shot start
    # The rest are dedup's extras (the camera pans), hashed from the shots picture halved.
    extras = [shape for shape in computed if shape != (180, 320, 3)]
    assert len(extras) == result["stats"]["dedup"]["extras"] > 0
    assert all(shape[1] <= 160 for shape in extras)
    for shot in result["shots"]:
        # The same frames kept, with the pdq step's hash as dedup's full-frame variant.
        assert [(h["t"], h["hash"]) for h in shot["pdq"]] == [
            (d["t"], d["h"][0]) for d in shot["dedup"] if not d.get("x")
        ]


def test_the_shared_hash_is_pdqhash_computes_own():
    picture = np.random.default_rng(5).integers(0, 256, (288, 512, 3), dtype=np.uint8)
    view = pdq_view(picture)
    bits, quality = pdqhash.compute(view.picture)
    assert np.array_equal(view.dihedral[0], bits) and view.quality == quality
