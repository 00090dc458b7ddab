"""Media the dedup tests share, made once per session: re-encoding dominates their time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from outtake.media.dedup.hashes import hash_media
from outtake.media.dedup.transforms import transform_video

FIXTURES = Path(__file__).parent.parent / "fixtures"
# A faster x264 preset than the bench's: at the same bitrate it leaves more artefacts, so the
# copies are no easier to match.
PRESET = "veryfast"


@functools.cache
def shots_of(path: Path) -> list[dict]:
    """hash_media(path), once per file (the files do not change during a session)."""
    return hash_media(path)


@pytest.fixture(scope="session")
def variant(tmp_path_factory) -> Callable[..., Path]:
    """variant(source, transform, start_s=, end_s=): the copy, made once per session."""
    folder = tmp_path_factory.mktemp("variants")
    made: dict[tuple, Path] = {}

    def make(source: Path, name: str, start_s: float = 0.0, end_s: float | None = None) -> Path:
        key = (source, name, start_s, end_s)
        if key not in made:
            target = folder / f"{len(made)}-{source.stem}.mp4"
            made[key] = transform_video(
                source, target, name, start_s=start_s, end_s=end_s, preset=PRESET
            )
        return made[key]

    return make


@pytest.fixture(scope="session")
def bunny(variant) -> Path:
    """bigbuckbunny.mp4 at half size (640×360): the flows' first creator's video, a quarter
    of the pixels to decode, copy and hash."""
    return variant(FIXTURES / "video" / "bigbuckbunny.mp4", "resize")
