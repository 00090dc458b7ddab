"""Probe, analyse and thumbnail an upload in one sandboxed child: ingest's view of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outtake.media.sandbox import run_isolated


def inspect_file(
    path: str,
    thumbnail_path: str,
    max_pixels: int = 100_000_000,
    max_duration_s: float = 21600,
    min_shot_s: float = 1.0,
    preview_dir: str | None = None,
    sidecar: dict[str, Any] | None = None,
    aerial_gps_altitude_m: float | None = None,
) -> dict[str, Any]:
    """{"probe": {...}, "analysis": {"pipeline_version", "shots", "stats"},
    "thumbnail": {"width": w, "height": h}}; previews go to preview_dir when given.
    sidecar and aerial_gps_altitude_m: see analyse()."""
    # Imported here, in the child: the parent calling inspect_isolated needs neither PyAV nor
    # Pillow loaded.
    from outtake.media.analysis.analyse import analyse
    from outtake.media.authenticity import annotate

    # One decode: the thumbnail is a frame the analysis pass decodes anyway.
    result = analyse(
        path,
        min_shot_s=min_shot_s,
        max_pixels=max_pixels,
        max_duration_s=max_duration_s,
        preview_dir=preview_dir,
        thumbnail_path=thumbnail_path,
        sidecar=sidecar,
        aerial_gps_altitude_m=aerial_gps_altitude_m,
    )
    info = result.pop("probe")
    thumbnail = result.pop("thumbnail")
    annotate(result, path, info)  # authenticity facts; AI-generated shots become unsellable
    return {"probe": info, "analysis": result, "thumbnail": thumbnail}


def inspect_isolated(
    path: str | Path,
    thumbnail_path: str | Path,
    *,
    max_pixels: int = 100_000_000,
    max_duration_s: float = 21600,
    min_shot_s: float = 1.0,
    preview_dir: str | Path | None = None,
    sidecar: dict[str, Any] | None = None,
    aerial_gps_altitude_m: float | None = None,
    memory_mb: int = 2048,
    timeout_s: float = 300,
) -> dict[str, Any]:
    """inspect_file in a child with memory and time limits (see sandbox.run_isolated)."""
    # Absolute paths: the child must not depend on a working directory it shares by accident.
    return run_isolated(
        "outtake.media.inspect:inspect_file",
        str(Path(path).resolve()),
        str(Path(thumbnail_path).resolve()),
        max_pixels,
        max_duration_s,
        min_shot_s,
        str(Path(preview_dir).resolve()) if preview_dir else None,
        sidecar,
        aerial_gps_altitude_m,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
    )
