"""A video's thumbnail, from a frame the pass already decodes (no seek, no second decode).

The frame is the first one served at or after VIDEO_POSITION of the duration (a reference
frame, at most a few frames later than the exact one), upright, at most max_side pixels on its
long side. It is written at the end of the pass; photos get theirs from media/thumbnail.py
(the step is in the pipeline either way, so photos and videos carry the same version).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from outtake.media.analysis.decode import Frame, FrameNeed
from outtake.media.analysis.pipeline import Context, Step
from outtake.media.thumbnail import VIDEO_POSITION, write_thumbnail

_EPS_S = 5e-4


class Thumbnail(Step):
    name = "thumbnail"
    version = 1

    def __init__(self, out_path: str | Path, *, max_side: int = 480) -> None:
        super().__init__()
        self.out_path = Path(out_path)
        self.max_side = max_side
        self.size: tuple[int, int] | None = None  # (w, h) once written
        self._at_s = 0.0
        self._picked: Frame | None = None
        self.needs: tuple[FrameNeed, ...] = (FrameNeed("thumbnail.rgb", max_side, "rgb24"),)

    def begin(self, info: dict[str, Any]) -> None:
        if info.get("kind") != "video":
            self.needs = ()  # a photo's thumbnail is made from the photo itself
            return
        # Served at 0, at_s, 2·at_s…: the second is the one wanted, the first a fallback.
        self._at_s = VIDEO_POSITION * (info.get("duration_s") or 0.0)
        every_s = self._at_s if self._at_s > 0 else 1.0
        self.needs = (FrameNeed("thumbnail.rgb", self.max_side, "rgb24", every_s=every_s),)

    def consume(self, frame: Frame) -> None:
        if self._picked is None or self._picked.t < self._at_s - _EPS_S:
            self._picked = frame

    def finish(self, context: Context) -> list[dict[str, Any]]:
        if self._picked is not None:
            picture = Image.fromarray(self._picked.images[self.needs[0].name])
            self.size = write_thumbnail(picture, self.out_path)
        return [{} for _ in context.shots]
