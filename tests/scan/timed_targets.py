"""What the scanner's parallel test runs in its sandboxed children (on PYTHONPATH there)."""

import os
import time

from outtake.media.scan import analyse_file


def timed_analyse_file(path: str) -> dict:
    """analyse_file, with when (wall clock) and in which process it ran."""
    start = time.time()
    result = analyse_file(path)
    return {**result, "ran": [start, time.time()], "pid": os.getpid()}
