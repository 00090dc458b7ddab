"""The analysis of one asset: probe it, then run every step over one decode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outtake.media.analysis.audio import Audio
from outtake.media.analysis.decode import FrameSource, PhotoSource, VideoSource
from outtake.media.analysis.hashes import PdqHashes
from outtake.media.analysis.motion import Motion
from outtake.media.analysis.overlays import Overlays
from outtake.media.analysis.people import People
from outtake.media.analysis.pipeline import Pipeline, Step, version_of
from outtake.media.analysis.previews import Previews
from outtake.media.analysis.quality import Quality
from outtake.media.analysis.shots import Shots
from outtake.media.analysis.speech import Speech
from outtake.media.analysis.tags import client_tags, shot_tags
from outtake.media.analysis.thumbnail import Thumbnail
from outtake.media.analysis.vendor import vendor_metadata
from outtake.media.dedup.hashes import DedupHashes
from outtake.media.errors import MediaError
from outtake.media.probe import probe
from outtake.media.thumbnail import make_thumbnail

# Steps that take no argument, in the order they run.
_PLAIN_STEPS: tuple[type[Step], ...] = (
    Quality,
    PdqHashes,
    People,
    DedupHashes,
    Motion,
    Audio,
    Speech,
    Overlays,
)


def default_pipeline(
    *,
    min_shot_s: float = 1.0,
    preview_dir: str | Path | None = None,
    thumbnail_path: str | Path | None = None,
) -> Pipeline:
    steps: list[Step] = [step() for step in _PLAIN_STEPS]
    steps += [Previews(preview_dir)] if preview_dir else []
    steps += [Thumbnail(thumbnail_path)] if thumbnail_path else []
    return Pipeline(Shots(min_shot_s=min_shot_s), steps)


def analysis_version(*, previews: bool = True, thumbnail: bool = True) -> str:
    """The pipeline_version default_pipeline() records (with previews and a thumbnail, as
    ingest runs it), from the step classes alone: no model is loaded."""
    steps: list[type[Step]] = [Shots, *_PLAIN_STEPS]
    steps += [Previews] if previews else []
    steps += [Thumbnail] if thumbnail else []
    return version_of(steps)


def analyse(
    path: str | Path,
    *,
    threads: int = 1,
    min_shot_s: float = 1.0,
    max_pixels: int = 100_000_000,
    max_duration_s: float = 6 * 3600,
    preview_dir: str | Path | None = None,
    thumbnail_path: str | Path | None = None,
    sidecar: dict[str, Any] | None = None,
    aerial_gps_altitude_m: float | None = None,
) -> dict[str, Any]:
    """Shots of a video (a photo is one shot) with quality checks and PDQ hashes per shot.

    Returns a JSON-serialisable dict: pipeline_version, probe, shots (index, start_s, end_s,
    start_frame, end_frame exclusive, problems, tags, quality, pdq) and stats per step.
    threads is the decoder's thread count (1 for benchmarks). With preview_dir, watermarked
    previews and a contact sheet are written there (see previews.py). With thumbnail_path, a
    JPEG thumbnail is written there and the result has "thumbnail": {"width", "height"}.
    sidecar: facts from the camera's sidecar files, for a file that has none beside it (an
    upload; vendor.sidecar_facts). aerial_gps_altitude_m: see tags.is_aerial.
    Raises MediaError for files probe() refuses.
    """
    info = probe(path, max_pixels=max_pixels, max_duration_s=max_duration_s)
    if info["kind"] == "video":
        info["vendor"] = vendor_metadata(path, sidecar)
        info["client_tags"] = client_tags(info, gps_altitude_m=aerial_gps_altitude_m)
    source: FrameSource
    if info["kind"] == "image":
        source = PhotoSource(path, max_pixels=max_pixels)
    else:
        source = VideoSource(path, threads=threads)
    try:
        pipeline = default_pipeline(
            min_shot_s=min_shot_s, preview_dir=preview_dir, thumbnail_path=thumbnail_path
        )
        result = pipeline.run(source, info)
    finally:
        source.close()
    for shot in result["shots"]:
        shot["tags"] = shot_tags(shot, info, gps_altitude_m=aerial_gps_altitude_m)
    if thumbnail_path:
        result["thumbnail"] = _thumbnail(pipeline, path, thumbnail_path, info, max_pixels)
    return {"pipeline_version": result["pipeline_version"], "probe": info, **result}


def _thumbnail(
    pipeline: Pipeline, path: str | Path, out: str | Path, info: dict[str, Any], max_pixels: int
) -> dict[str, int]:
    if info["kind"] == "image":
        size = make_thumbnail(path, out, max_pixels=max_pixels)
    else:
        (step,) = (s for s in pipeline.steps if isinstance(s, Thumbnail))
        if step.size is None:
            raise MediaError(
                "No frame of the video can be decoded; the file is damaged", "not_decodable"
            )
        size = step.size
    return {"width": size[0], "height": size[1]}
