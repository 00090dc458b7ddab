"""What each step did and what it cost, so a scanner or benchmark can print time per step."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepStats:
    """Frames a step saw, seconds it spent and any units it counts (hashes, cuts...)."""

    frames: int = 0
    seconds: float = 0.0
    units: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def count(self, unit: str, n: int = 1) -> None:
        self.units[unit] += n

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "seconds": round(self.seconds, 4), **dict(self.units)}
