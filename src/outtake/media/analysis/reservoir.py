"""A bounded store of sampled frames for steps that choose frames per shot after the pass.

Shots are known only once the pass is over, so such steps keep frames as they come: JPEG-
compressed, thinned to every other one (and the sampling interval doubled) whenever the store
fills, so memory stays bounded on a six-hour file. A frame served after the pass (a shot's
first frame, found when cuts are refined) is always kept.
"""

from __future__ import annotations

import cv2
import numpy as np

_JPEG_QUALITY = 90


class Reservoir:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: dict[int, bytes] = {}  # frame index → JPEG
        self._every = 1  # keep every n-th frame served
        self._served = 0
        self._last = -1

    def offer(self, index: int, picture: np.ndarray) -> None:
        """Keep picture (H×W×3, any channel order) if it is due; it comes back in that order."""
        if index in self._kept:
            return
        # During the pass frames come in order: one from before the last is a shot's start.
        late = index < self._last
        self._last = max(self._last, index)
        self._served += not late
        if not late and (self._served - 1) % self._every:
            return
        _, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        self._kept[index] = jpeg.tobytes()
        if len(self._kept) > self.capacity:
            self._every *= 2
            self._kept = dict(sorted(self._kept.items())[::2])

    def indices(self, first: int, end: int) -> list[int]:
        """Frame numbers kept from first up to but not including end, in order."""
        return sorted(i for i in self._kept if first <= i < end)

    def picture(self, index: int) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(self._kept[index], np.uint8), cv2.IMREAD_COLOR)


def spread(indices: list[int], n: int) -> list[int]:
    """Up to n of indices, evenly spread from the first to the last."""
    if len(indices) <= n:
        return list(indices)
    return sorted({indices[round(k)] for k in np.linspace(0, len(indices) - 1, n)})
