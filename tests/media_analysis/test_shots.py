"""Shots: cuts off keyframes found on the exact frame; short shots merged."""

from __future__ import annotations

import pytest

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.shots import merge_short

from .conftest import RATE, shots_video

CUTS = [37, 81, 130, 171, 206]  # none on a keyframe (every 50th frame) nor a multiple of 4


@pytest.mark.parametrize("threads", [1, 2])
def test_every_cut_on_its_exact_frame_and_no_other(clip, threads):
    video = clip("cuts.mp4", shots_video(CUTS, 250))
    result = analyse(video, threads=threads)
    shots = result["shots"]
    assert [s["start_frame"] for s in shots] == [0, *CUTS]
    assert [s["end_frame"] for s in shots] == [*CUTS, 250]
    assert shots[1]["start_s"] == pytest.approx(CUTS[0] / RATE)
    assert result["stats"]["shots"]["cuts"] == len(CUTS)


def test_a_shot_shorter_than_the_minimum_joins_its_neighbour(clip):
    video = clip("short.mp4", shots_video([40, 52, 100], 150))  # 12 frames ≈ 0.5 s
    shots = analyse(video, min_shot_s=1.0)["shots"]
    assert [s["start_frame"] for s in shots] == [0, 52, 100]  # joined the shot before


def test_merge_short_keeps_long_shots_and_joins_short_ones():
    assert merge_short([10, 50, 55, 90], 100, 20) == [55]
    assert merge_short([5, 50], 100, 20) == [50]  # a short first shot joins the next
    assert merge_short([], 100, 20) == []
    assert merge_short([50], 60, 20) == []  # a short last shot joins the one before
