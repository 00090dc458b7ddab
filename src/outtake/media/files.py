"""Which files under a folder are candidate footage: the one rule the scanner, `outtake hashes`
and `outtake upload` share.

Hidden files and folders are skipped (a camera card's .Trashes, .Spotlight-V100 and
.thumbnails hold copies and previews, not footage), and so are camera sidecars (a DJI .LRF
proxy is a playable MP4). Whether a file really is a video or photo is left to the caller
(the scanner's suffixes, probe, or the server).
"""

from __future__ import annotations

import os
from pathlib import Path

from outtake.media.analysis.vendor import is_sidecar


def media_files(folder: Path) -> list[Path]:
    """Files under folder, each folder's files by name before its subfolders, without hidden
    files or folders and camera sidecars."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root, name)
            if not name.startswith(".") and not is_sidecar(path) and path.is_file():
                found.append(path)
    return found
