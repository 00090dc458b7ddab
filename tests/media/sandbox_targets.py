"""Functions the sandbox tests run in its child (on PYTHONPATH there, set by the tests)."""

import os
import signal
import sys
import time

from outtake.media.errors import MediaError


def echo(*args):
    return {"args": list(args), "pid": os.getpid()}


def allocate(megabytes):
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def sleep(seconds):
    time.sleep(seconds)


def refuse(reason, code):
    raise MediaError(reason, code)


def fail():
    raise ValueError("the frobnicator is out of flux")


def crash():
    os.kill(os.getpid(), signal.SIGSEGV)


def crash_when_memory_runs_out():
    """What some decoders do: an allocation fails, and they use the NULL they got."""
    held = []
    try:
        while True:
            held.append(bytearray(16 * 1024 * 1024))
    except MemoryError:
        time.sleep(0.2)  # let the parent see the high-water mark
        os.kill(os.getpid(), signal.SIGSEGV)


def address_space_after_imports_mb():
    """VmPeak once the analysis modules are loaded: the floor of any memory limit."""
    import outtake.media.analysis.analyse
    import outtake.media.probe
    import outtake.media.thumbnail  # noqa: F401

    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmPeak")


def django_modules_after_inspect(path, thumbnail_path):
    from outtake.media.inspect import inspect_file

    inspect_file(path, thumbnail_path)
    return sorted(name for name in sys.modules if name.split(".")[0] == "django")
