"""The pipeline: one decode shared by steps, per-step stats, a versioned JSON result."""

from __future__ import annotations

import json

import pytest

from outtake.media.analysis.analyse import analyse, default_pipeline
from outtake.media.analysis.decode import Frame, FrameNeed, VideoSource
from outtake.media.analysis.pipeline import Pipeline, Step
from outtake.media.analysis.shots import Shots

from .conftest import shots_video


class _Counter(Step):
    name = "counter"
    needs = (FrameNeed("counter.gray", 64, every_s=0.5, shot_starts=True),)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def consume(self, frame: Frame) -> None:
        self.seen.append(frame.index)

    def finish(self, context):
        return [
            {"seen": [i for i in self.seen if s.start_frame <= i < s.end_frame]}
            for s in context.shots
        ]


def test_analyse_returns_versioned_json_with_per_step_stats(clip):
    video = clip("v.mp4", shots_video([37], 75))
    result = analyse(video)
    json.dumps(result, allow_nan=False)
    assert result["pipeline_version"] == default_pipeline().version
    assert result["pipeline_version"].startswith("outtake-analysis/1 shots/2 quality/2 pdq/2")
    assert result["probe"]["frame_count"] == 75
    keys = {"index", "start_s", "end_s", "start_frame", "end_frame", "problems", "tags"}
    assert all(keys | {"quality", "pdq", "people"} <= set(shot) for shot in result["shots"])
    assert len(result["shots"]) == 2
    stats = result["stats"]
    assert {"decode", "shots", "quality", "pdq", "people"} <= set(stats)
    assert stats["decode"]["frames"] == stats["shots"]["frames"] < 75
    # Steps over sound take no time on a file without any.
    assert all(stats[step]["seconds"] > 0 for step in ("decode", "shots", "quality", "people"))


def test_a_step_gets_only_the_frames_it_asked_for(clip):
    video = clip("v.mp4", shots_video([37], 75))
    counter = _Counter()
    result = Pipeline(Shots(), [counter]).run(VideoSource(video), {"frame_count": 75})
    # Twice a second over 3 s, plus the second shot's first frame from the cut refinement.
    assert len(counter.seen) == 7
    assert 37 in result["shots"][1]["seen"]
    assert result["stats"]["counter"]["frames"] == 7


def test_steps_cannot_ask_for_different_frames_under_one_name():
    class _Other(_Counter):
        needs = (FrameNeed("counter.gray", 128),)

    with pytest.raises(ValueError, match=r"counter\.gray"):
        Pipeline(Shots(), [_Counter(), _Other()])


def test_without_rapidocr_the_analysis_does_not_import(monkeypatch):
    """OCR is a hard dependency: a missing rapidocr is an import error, never a pipeline that
    quietly stops checking for burned-in text."""
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "rapidocr", None)  # what an uninstalled package looks like
    for name in ("outtake.media.analysis.analyse", "outtake.media.analysis.overlays"):
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match="rapidocr"):
        importlib.import_module("outtake.media.analysis.analyse")
    monkeypatch.undo()
    assert "overlays" in [s.name for s in default_pipeline().steps]
