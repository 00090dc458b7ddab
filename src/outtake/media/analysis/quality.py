"""Quality checks per shot: black, frozen, bars, blur, low light and low bitrate.

Each check gives a number, a severity (pass, warn or fail) and a reason a creator can read;
the ones that do not pass become the shot's "problems", which pricing turns into deductions
(warn) or an unsellable clip (fail).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from outtake.media.analysis import measures
from outtake.media.analysis.decode import Frame, FrameNeed
from outtake.media.analysis.pipeline import Context, Shot, Step

# A black frame: 99 % of its pixels no brighter than deep shadow (full-range grey levels).
BLACK_P99 = 24
BLACK_WARN, BLACK_FAIL = 0.2, 0.9  # share of the shot's frames
# Frozen: the mean grey-level change between decoded frames stays under this; grain and
# compression alone move a live picture by more (a real freeze decodes identical frames).
FROZEN_CHANGE = 0.3
FROZEN_WARN, FROZEN_FAIL = (
    0.3,
    0.8,
)  # share of the shot's frame pairs (keyframes re-encode a freeze)
BARS_WARN = 0.05  # share of the frame's area
# Edge width in pixels, measured on frames at most 640 px wide (about 2 when sharp).
BLUR_WARN, BLUR_FAIL = 3.0, 4.5
# Low light needs a dark average AND dark highlights: flat "log" footage is grey, not dark.
DARK_WARN_MEAN, DARK_WARN_P90 = 45, 90
DARK_FAIL_MEAN, DARK_FAIL_P90 = 25, 50
# Bits per pixel per frame below which H.264 shows blocks and smearing; more efficient codecs
# get by on a share of it. Intra and mezzanine codecs (ProRes, DNxHD) are never starved.
BITRATE_WARN_BPP, BITRATE_FAIL_BPP = 0.02, 0.005
# Shots shorter than this are judged by the file's bitrate: one keyframe would dominate theirs.
MIN_BITRATE_SPAN_S = 2.0
CODEC_EFFICIENCY = {
    "h264": 1.0,
    "mpeg4": 1.5,
    "mpeg2video": 2.0,
    "hevc": 0.6,
    "vp9": 0.6,
    "av1": 0.5,
}


@dataclass(frozen=True)
class Check:
    code: str
    value: float
    severity: str  # "pass" | "warn" | "fail"
    reason: str

    def as_problem(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "reason": self.reason,
            "value": self.value,
        }


def _grade(value: float, warn: float, fail: float, *, higher_is_worse: bool = True) -> str:
    sign = 1 if higher_is_worse else -1
    if sign * value >= sign * fail:
        return "fail"
    return "warn" if sign * value >= sign * warn else "pass"


@dataclass(frozen=True)
class _Sample:
    """What the quality step keeps of each low-resolution frame."""

    index: int
    levels: measures.Levels
    change: float | None  # mean |Δ grey| from the previous frame served, None for the first
    bar_rows: float  # share of the height in each letterbox bar
    bar_columns: float


class Quality(Step):
    name = "quality"
    version = 2
    FRAMES = FrameNeed("quality.gray", 320)
    DETAIL = FrameNeed("quality.detail", 640, every_s=1.0, shot_starts=True)
    needs = (FRAMES, DETAIL)

    def __init__(self) -> None:
        super().__init__()
        self._samples: list[_Sample] = []
        self._edges: list[tuple[int, float]] = []
        self._previous: np.ndarray | None = None

    def consume(self, frame: Frame) -> None:
        gray = frame.images.get(self.FRAMES.name)
        if gray is not None:
            change = None
            if self._previous is not None:
                change = cv2.mean(cv2.absdiff(gray, self._previous))[0]
            self._previous = gray
            rows, columns = measures.bars(gray)
            height, width = gray.shape
            self._samples.append(
                _Sample(frame.index, measures.levels(gray), change, rows / height, columns / width)
            )
        detail = frame.images.get(self.DETAIL.name)
        if detail is not None:
            width = measures.edge_width(detail)
            if width is not None:
                self._edges.append((frame.index, width))
                self.stats.count("blur_samples")

    def finish(self, context: Context) -> list[dict[str, Any]]:
        results = []
        for shot in context.shots:
            samples = [s for s in self._samples if shot.start_frame <= s.index < shot.end_frame]
            checks = [
                black_check(samples),
                frozen_check(samples[1:]),  # the first one's change crosses the cut
                bars_check(samples),
                blur_check([w for i, w in self._edges if _within(shot, i)]),
                low_light_check(samples),
                bitrate_check(context.info, _shot_bitrate(context, shot)),
            ]
            checks = [c for c in checks if c is not None]
            results.append(
                {
                    "quality": {
                        c.code: {"value": c.value, "severity": c.severity, "reason": c.reason}
                        for c in checks
                    },
                    "problems": [c.as_problem() for c in checks if c.severity != "pass"],
                }
            )
        return results


def _within(shot: Shot, index: int) -> bool:
    return shot.start_frame <= index < shot.end_frame


def _is_black(sample: _Sample) -> bool:
    return sample.levels.p99 <= BLACK_P99


def black_check(samples: list[_Sample]) -> Check | None:
    if not samples:
        return None
    share = sum(map(_is_black, samples)) / len(samples)
    return Check(
        "black",
        round(share, 3),
        _grade(share, BLACK_WARN, BLACK_FAIL),
        f"{share:.0%} of the clip is black frames",
    )


def frozen_check(samples: list[_Sample]) -> Check | None:
    changes = [s.change for s in samples if s.change is not None and not _is_black(s)]
    if not changes:
        return None
    share = sum(c < FROZEN_CHANGE for c in changes) / len(changes)
    return Check(
        "frozen",
        round(share, 3),
        _grade(share, FROZEN_WARN, FROZEN_FAIL),
        f"the picture does not move in {share:.0%} of the clip (a still or frozen frame)",
    )


def bars_check(samples: list[_Sample]) -> Check | None:
    lit = [s for s in samples if not _is_black(s)]
    if not lit:
        return None
    rows = statistics.median(s.bar_rows for s in lit)
    columns = statistics.median(s.bar_columns for s in lit)
    share = 1 - (1 - 2 * rows) * (1 - 2 * columns)
    kind = " and ".join(
        name for name, size in (("letterbox", rows), ("pillarbox", columns)) if size > 0
    )
    reason = (
        f"black bars ({kind}) cover {share:.0%} of the frame; crop them for buyers"
        if kind
        else "no black bars around the picture"
    )
    return Check("bars", round(share, 3), "warn" if share >= BARS_WARN else "pass", reason)


def blur_check(edge_widths: list[float]) -> Check | None:
    if not edge_widths:
        return None
    width = statistics.median(edge_widths)
    severity = _grade(width, BLUR_WARN, BLUR_FAIL)
    verdict = {"pass": "sharp", "warn": "soft", "fail": "blurred"}[severity]
    return Check(
        "blur",
        round(width, 2),
        severity,
        f"the picture is {verdict}: edges spread over {width:.1f} px at 640 px wide",
    )


def low_light_check(samples: list[_Sample]) -> Check | None:
    lit = [s for s in samples if not _is_black(s)]
    if not lit:
        return None
    mean = statistics.median(s.levels.mean for s in lit)
    p90 = statistics.median(s.levels.p90 for s in lit)
    if mean < DARK_FAIL_MEAN and p90 < DARK_FAIL_P90:
        severity = "fail"
    elif mean < DARK_WARN_MEAN and p90 < DARK_WARN_P90:
        severity = "warn"
    else:
        severity = "pass"
    described = "too dark" if severity != "pass" else "exposed well enough"
    return Check(
        "low_light",
        round(mean, 1),
        severity,
        f"the picture is {described}: average brightness {mean / 255:.0%}, "
        f"highlights {p90 / 255:.0%}",
    )


def _shot_bitrate(context: Context, shot: Shot) -> float | None:
    """The shot's own video bitrate: a low-bitrate stretch is not hidden by the rest of the file.
    None for shots too short to measure (a keyframe would dominate) or without packet sizes."""
    duration = shot.end_s - shot.start_s
    if context.source is None or duration < MIN_BITRATE_SPAN_S:
        return None
    size = context.source.video_bytes(shot.start_s, shot.end_s)
    return size * 8 / duration if size else None


def bitrate_check(info: dict[str, Any], rate: float | None = None) -> Check | None:
    """Bits per pixel per frame for the codec, at rate (bits a second; the whole file's video
    bitrate from the probe when None); None where nothing is known."""
    efficiency = CODEC_EFFICIENCY.get(info.get("video_codec") or "")
    rate = rate or info.get("video_bitrate")
    width, height, fps = (info.get(k) for k in ("width", "height", "fps"))
    if info.get("kind") != "video" or not (efficiency and rate and width and height and fps):
        return None
    bpp = rate / (width * height * fps)
    severity = _grade(
        bpp, BITRATE_WARN_BPP * efficiency, BITRATE_FAIL_BPP * efficiency, higher_is_worse=False
    )
    return Check(
        "low_bitrate",
        round(bpp, 4),
        severity,
        f"{rate / 1e6:.2f} Mb/s for {width}×{height} at {fps:g} fps "
        + ("is too little: expect blocks and smearing" if severity != "pass" else "is enough"),
    )
