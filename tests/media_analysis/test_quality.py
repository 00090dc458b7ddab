"""Quality checks: each defective clip is flagged for its defect; clean and log clips are not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from outtake.core.pricing import ClipFacts, load_rate_card, price_clip
from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.quality import bitrate_check

from .conftest import SIZE, canvas, grain, pan

FRAMES = 75  # 3 s
SCENE = canvas(7)


def _frames(make) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(11)
    return (make(i, rng) for i in range(FRAMES))


def _letterboxed(i: int, rng: np.random.Generator) -> np.ndarray:
    picture = grain(pan(SCENE, i), rng).copy()
    picture[:22] = picture[-22:] = 0  # 2.35:1 inside 16:9
    return picture


CLIPS = {
    "clean": lambda i, rng: grain(pan(SCENE, i), rng),
    # Log profiles lift shadows and compress highlights: grey and flat, but not dark.
    "log": lambda i, rng: grain((70 + pan(SCENE, i) * (80 / 255)).astype(np.uint8), rng, 3),
    "black": lambda i, rng: grain(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), rng, 2),
    "frozen": lambda i, rng: pan(SCENE, 3),
    "letterboxed": _letterboxed,
    "blurred": lambda i, rng: grain(cv2.GaussianBlur(pan(SCENE, i), (0, 0), 4), rng, 3),
    "dark": lambda i, rng: grain((pan(SCENE, i) * 0.18).astype(np.uint8), rng, 2),
}


def _problems(result: dict) -> dict[str, str]:
    (shot,) = result["shots"]
    return {p["code"]: p["severity"] for p in shot["problems"]}


@pytest.mark.parametrize("name", ["clean", "log"])
def test_clean_and_log_clips_have_no_problem(clip, name):
    result = analyse(clip(f"{name}.mp4", _frames(CLIPS[name])))
    assert _problems(result) == {}
    quality = result["shots"][0]["quality"]
    assert {"black", "frozen", "bars", "blur", "low_light", "low_bitrate", "shake"} <= set(quality)
    assert all(check["severity"] == "pass" and check["reason"] for check in quality.values())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("black", {"black": "fail"}),
        ("frozen", {"frozen": "fail"}),
        ("letterboxed", {"bars": "warn"}),
        ("blurred", {"blur": "fail"}),
        ("dark", {"low_light": "fail"}),
    ],
)
def test_each_defect_is_flagged_for_its_reason_only(clip, name, expected):
    result = analyse(clip(f"{name}.mp4", _frames(CLIPS[name])))
    assert _problems(result) == expected
    (problem,) = result["shots"][0]["problems"]
    assert isinstance(problem["value"], float) and problem["reason"]
    json.dumps(result, allow_nan=False)


def test_letterbox_share_is_measured(clip):
    result = analyse(clip("bars.mp4", _frames(_letterboxed)))
    assert result["shots"][0]["quality"]["bars"]["value"] == pytest.approx(44 / 180, abs=0.02)


def test_low_bitrate_for_the_resolution_is_flagged(clip):
    result = analyse(clip("starved.mp4", _frames(CLIPS["clean"]), bit_rate=25_000))
    assert _problems(result) == {"low_bitrate": "warn"}


def test_bitrate_check_allows_for_the_codec():
    uhd = {"kind": "video", "width": 3840, "height": 2160, "fps": 30.0}
    assert (
        bitrate_check({**uhd, "video_codec": "hevc", "video_bitrate": 12_000_000}).severity
        == "pass"
    )
    assert (
        bitrate_check({**uhd, "video_codec": "h264", "video_bitrate": 3_000_000}).severity == "warn"
    )
    assert (
        bitrate_check({**uhd, "video_codec": "h264", "video_bitrate": 500_000}).severity == "fail"
    )
    assert bitrate_check({**uhd, "video_codec": "prores", "video_bitrate": 1}) is None


def test_a_failing_check_makes_the_clip_unsellable_with_its_reason(clip):
    result = analyse(clip("black.mp4", _frames(CLIPS["black"])))
    shot = result["shots"][0]
    facts = ClipFacts(
        kind="video",
        width=SIZE[0],
        height=SIZE[1],
        duration_s=shot["end_s"] - shot["start_s"],
        problems=tuple(shot["problems"]),
    )
    price = price_clip(facts, load_rate_card())
    assert not price.sellable
    assert "black" in price.reasons[0]


def test_a_photo_is_one_shot_with_the_checks_that_apply(fixture_path):
    result = analyse(Path(fixture_path("photo", "coffee.png")))
    (shot,) = result["shots"]
    assert set(shot["quality"]) == {"black", "bars", "blur", "low_light"}
    assert shot["problems"] == []
    assert len(shot["pdq"]) == 1


def test_each_shot_is_judged_by_its_own_bitrate(clip):
    # A still shot costs the encoder almost nothing; a grainy pan after it costs a lot.
    other = canvas(8)

    def frames() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(5)
        for i in range(2 * FRAMES):
            yield pan(SCENE, 3) if i < FRAMES else grain(pan(other, 2 * i), rng, 8)

    result = analyse(clip("still_then_pan.mp4", frames(), bit_rate=400_000))
    still, moving = (shot["quality"]["low_bitrate"]["value"] for shot in result["shots"])
    assert moving > 3 * still
