"""Face detectors behind one interface: yuface where its wheel installs, OpenCV's Haar otherwise.

yuface (libfacedetection, weights compiled in) publishes only a CPython 3.11 wheel, so the
choice is made once, by setting (OUTTAKE_FACE_DETECTOR) or by what imports, never at call sites.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# yuface warns above 960 px yet finds faces down to about 10 px at 1280; the warning is noise.
_YUFACE_MIN_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Box:
    """A detection in pixels of the picture it was found in."""

    x: int
    y: int
    w: int
    h: int
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


class FaceDetector(Protocol):
    name: str

    def detect(self, bgr: np.ndarray) -> list[Box]: ...


class YuFaceDetector:
    name = "yuface"

    def __init__(self) -> None:
        # yuface runs on OpenMP: its spinning threads made detection 4× slower next to other
        # busy processes, and parallelism comes from a process per file. Read when the
        # library loads, so it must be set first; an explicit setting wins.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import yuface

        self._detect = yuface.c_detect  # the raw call: detect() only adds a size warning

    def detect(self, bgr: np.ndarray) -> list[Box]:
        rows = self._detect(np.ascontiguousarray(bgr))
        return [
            Box(int(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[0]) / 100)
            for r in rows
            if r[0] >= _YUFACE_MIN_CONFIDENCE * 100 and r[3] > 0 and r[4] > 0
        ]


class HaarFaceDetector:
    """OpenCV's bundled frontal-face cascade (opencv-python-headless<5 ships it)."""

    name = "haar"

    def __init__(self) -> None:
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load {path}")

    def detect(self, bgr: np.ndarray) -> list[Box]:
        gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        found = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5)
        return [Box(int(x), int(y), int(w), int(h), 1.0) for x, y, w, h in found]


# In order of preference, each with the module it needs.
DETECTORS: dict[str, tuple[str, Callable[[], FaceDetector]]] = {
    "yuface": ("yuface", YuFaceDetector),
    "haar": ("cv2", HaarFaceDetector),
}


def available_detectors() -> list[str]:
    return [name for name, (module, _) in DETECTORS.items() if importlib.util.find_spec(module)]


def face_detector(name: str | None = None) -> FaceDetector:
    """The detector named (or by OUTTAKE_FACE_DETECTOR), else the best one installed."""
    name = name or os.environ.get("OUTTAKE_FACE_DETECTOR") or available_detectors()[0]
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r}; choose from {', '.join(DETECTORS)}")
    return DETECTORS[name][1]()
