"""`outtake backup`: one archive with the database, blobs and the installation's secrets.

The secret key and the certificate authority exist only in OUTTAKE_HOME, so a backup without
them could not verify anything Outtake ever signed.
"""

from __future__ import annotations

import io
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

SECRETS = ("secret_key", "pki")


def backup(target: Path) -> list[str]:
    """Write a .tar.gz to target; returns the archive's member names (top level)."""
    home = Path(settings.OUTTAKE_HOME)
    names = []
    with tarfile.open(target, "w:gz") as tar:
        if connection.vendor == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "outtake.sqlite3"
                _sqlite_copy(copy)
                tar.add(copy, "database/outtake.sqlite3")
                names.append("database/outtake.sqlite3")
        else:
            dump = io.StringIO()
            call_command("dumpdata", natural_foreign=True, stdout=dump, verbosity=0)
            data = dump.getvalue().encode()
            info = tarfile.TarInfo("database/dumpdata.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            names.append("database/dumpdata.json")
        for name in SECRETS:
            if (home / name).exists():
                tar.add(home / name, name)
                names.append(name)
        blobs = settings.OUTTAKE_STORAGE_URL
        if blobs.startswith("file://") and Path(blobs[7:]).exists():
            tar.add(Path(blobs[7:]), "blobs")
            names.append("blobs")
    return names


def _sqlite_copy(target: Path) -> None:
    """A consistent copy of the live database through SQLite's online backup API."""
    connection.ensure_connection()
    dst = sqlite3.connect(target)
    try:
        connection.connection.backup(dst)
    finally:
        dst.close()
