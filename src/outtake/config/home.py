"""OUTTAKE_HOME: the one folder holding this installation's state and secrets.

The secret key and the certificate authority are generated here on first start and never
shipped in the repository; `outtake backup` copies this folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("OUTTAKE_HOME", "var")).resolve()


def ensure_home(root: Path) -> None:
    for sub in ("", "uploads", "blobs", "tmp", "pki"):
        (root / sub).mkdir(parents=True, exist_ok=True)


def secret_key(root: Path) -> str:
    """Read the installation's secret key, creating it (mode 600) on first use."""
    path = root / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except OSError:
        raise
