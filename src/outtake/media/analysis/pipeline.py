"""Steps over one shared decode, in the manner of datatrove's pipeline steps.

A Step declares the frames it needs, consumes them as the decode serves them and, once the
shots are known, finishes into one result dict per shot. Steps never decode: the FrameSource
does, once, for all of them. Each step's stats record frames seen and seconds spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from outtake.media.analysis.decode import Frame, FrameNeed, FrameSource
from outtake.media.analysis.stats import StepStats

# Bump when the decode or the way results are put together changes; steps carry their own.
PIPELINE_VERSION = "outtake-analysis/1"


@dataclass(frozen=True)
class Shot:
    """A shot: frames start_frame up to but not including end_frame."""

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "problems": [],
            "tags": [],
        }


@dataclass(frozen=True)
class Context:
    """What steps know when they finish: the probe of the file, its shots and its source
    (whose sound() steps that listen share)."""

    info: dict[str, Any]
    shots: list[Shot]
    source: FrameSource | None = None


class Step:
    """A unit of analysis. Subclasses set name, version and needs, and override consume/finish."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    needs: tuple[FrameNeed, ...] = ()

    def __init__(self) -> None:
        self.stats = StepStats()

    def begin(self, info: dict[str, Any]) -> None:
        """Called with the file's probe before the pass: a step may change its needs here."""

    def feed(self, frame: Frame) -> None:
        if any(need.name in frame.images for need in self.needs):
            with self.stats.timed():
                self.consume(frame)
            self.stats.frames += 1

    def consume(self, frame: Frame) -> None:
        """Look at a frame holding at least one of this step's needs (not always in order)."""

    def finish(self, context: Context) -> list[dict[str, Any]]:
        """One dict per shot, merged into that shot's result (lists appended, dicts updated)."""
        return [{} for _ in context.shots]


class ShotStep(Step):
    """The step that cuts the file into shots, refining cuts with the source after the pass."""

    def segment(
        self, source: FrameSource, info: dict[str, Any], start_needs: Sequence[FrameNeed]
    ) -> tuple[list[Shot], list[Frame]]:
        """The shots, and the first frame of each shot after the first, with start_needs."""
        raise NotImplementedError

    def wants_window(self, first: int, last: int) -> bool:
        """Whether segment() may ask the source for the frames first..last."""
        return True


class Pipeline:
    def __init__(self, shots: ShotStep, steps: Sequence[Step]) -> None:
        self.shots = shots
        self.steps = list(steps)
        self.needs = _distinct_needs([shots, *self.steps])  # refuse a clash at once

    @property
    def version(self) -> str:
        return version_of([self.shots, *self.steps])

    def run(self, source: FrameSource, info: dict[str, Any]) -> dict[str, Any]:
        """Analyse source in one pass; info is its probe. Returns a JSON-serialisable dict."""
        for step in (self.shots, *self.steps):
            step.begin(info)
        needs = _distinct_needs([self.shots, *self.steps])  # begin() may have changed them
        for frame in source.frames(needs, self.shots.wants_window):
            self.shots.feed(frame)
            for step in self.steps:
                step.feed(frame)
        start_needs = [need for need in needs if need.shot_starts]
        with self.shots.stats.timed():
            shots, starts = self.shots.segment(source, info, start_needs)
        for frame in starts:
            for step in self.steps:
                step.feed(frame)
        context = Context(info, shots, source)
        results = [shot.as_dict() for shot in shots]
        for step in self.steps:
            with step.stats.timed():
                parts = step.finish(context)
            for result, part in zip(results, parts, strict=True):
                for key, value in part.items():
                    if isinstance(value, list):
                        result.setdefault(key, []).extend(value)
                    elif isinstance(value, dict) and isinstance(result.get(key), dict):
                        result[key].update(value)  # several steps add quality checks
                    else:
                        result[key] = value
        stats = {"decode": source.stats.as_dict()}
        stats.update((step.name, step.stats.as_dict()) for step in (self.shots, *self.steps))
        return {"pipeline_version": self.version, "shots": results, "stats": stats}


def version_of(steps: Sequence[Step | type[Step]]) -> str:
    """The pipeline version of these steps (or step classes: no model needs loading)."""
    return " ".join([PIPELINE_VERSION, *(f"{s.name}/{s.version}" for s in steps)])


def _distinct_needs(steps: Sequence[Step]) -> list[FrameNeed]:
    needs: dict[str, FrameNeed] = {}
    for step in steps:
        for need in step.needs:
            if needs.setdefault(need.name, need) != need:
                raise ValueError(f"two steps need different frames named {need.name!r}")
    return list(needs.values())
