"""The analysis of one asset: probe it, then run every step over one decode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outtake.media.analysis.decode import FrameSource, PhotoSource, VideoSource
from outtake.media.analysis.hashes import PdqHashes
from outtake.media.analysis.pipeline import Pipeline
from outtake.media.analysis.quality import Quality
from outtake.media.analysis.shots import Shots
from outtake.media.probe import probe


def default_pipeline(*, min_shot_s: float = 1.0) -> Pipeline:
    return Pipeline(Shots(min_shot_s=min_shot_s), [Quality(), PdqHashes()])


def analyse(
    path: str | Path,
    *,
    threads: int = 1,
    min_shot_s: float = 1.0,
    max_pixels: int = 100_000_000,
    max_duration_s: float = 6 * 3600,
) -> dict[str, Any]:
    """Shots of a video (a photo is one shot) with quality checks and PDQ hashes per shot.

    Returns a JSON-serialisable dict: pipeline_version, probe, shots (index, start_s, end_s,
    start_frame, end_frame exclusive, problems, tags, quality, pdq) and stats per step.
    threads is the decoder's thread count (1 for benchmarks). Raises MediaError for files
    probe() refuses.
    """
    info = probe(path, max_pixels=max_pixels, max_duration_s=max_duration_s)
    source: FrameSource
    if info["kind"] == "image":
        source = PhotoSource(path, max_pixels=max_pixels)
    else:
        source = VideoSource(path, threads=threads)
    try:
        result = default_pipeline(min_shot_s=min_shot_s).run(source, info)
    finally:
        source.close()
    return {"pipeline_version": result["pipeline_version"], "probe": info, **result}
