"""Run media analysis in a child process with memory and time limits.

Decoders are large C libraries fed untrusted files: a crafted file can make them allocate without
bound, spin forever or crash. The child runs ``package.module:function`` under RLIMIT_AS and
RLIMIT_CPU, the parent enforces a wall-clock timeout, and every way the child can fail comes
back as a MediaError, never as a crash of the caller.

The child is ``python -m outtake.media.sandbox WORKDIR`` with the parent's interpreter and
environment (so ``outtake`` must be installed, as ``make`` does, and PYTHONPATH is inherited).
It reads WORKDIR/request.json and writes WORKDIR/result.json (not stdout, which C libraries may
write to). This module imports only the standard library and the media errors, so the child
loads no Django and nothing the target does not import itself.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from outtake.media.errors import MediaError

# Seconds the child's own backstops (CPU limit, alarm) allow beyond the parent's timeout.
_GRACE_S = 5
# Refusals that a failed allocation can masquerade as, and how close to the memory limit the
# child's peak must come for that to be the likelier cause (FFmpeg allocates at most a few
# frames at once: tens of MB even at 8K), capped at an eighth of small limits.
_MAYBE_MEMORY = ("not_decodable", "truncated")
_HEADROOM_MB = 128
# Deaths by signal that a failed allocation can cause, and how often the parent looks.
_CRASHES = (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT)
_POLL_S = 0.05
# Messages that mean an allocation failed under RLIMIT_AS rather than a bug or a bad file.
_OOM_MARKERS = (
    "Cannot allocate memory",
    "MemoryError",
    "std::bad_alloc",
    "out of memory",
    "failed to map segment",
)


def run_isolated(target: str, *args: Any, memory_mb: int = 2048, timeout_s: float = 300) -> Any:
    """Call target ("package.module:function") with JSON-serialisable args in a fresh child.

    Returns the function's JSON-serialisable result. Raises MediaError: the child's own
    MediaError (same code and reason), "timeout", "out_of_memory", or "not_decodable" with the
    last line of the error for any other failure.
    """
    request = json.dumps(
        {"target": target, "args": list(args), "memory_mb": memory_mb, "timeout_s": timeout_s}
    )
    with tempfile.TemporaryDirectory(prefix="outtake-sandbox-") as tmp:
        workdir = Path(tmp)
        (workdir / "request.json").write_text(request)
        log_path = workdir / "output.log"
        with open(log_path, "wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "outtake.media.sandbox", str(workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_child_env(),
                close_fds=True,
            )
            try:
                peak_mb = _wait_watching_memory(child, timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                raise MediaError(f"analysis timed out after {timeout_s:g} s", "timeout") from None
            finally:
                if child.poll() is None:  # interrupted while waiting: leave no orphan
                    child.kill()
                    child.wait()
        return _outcome(child.returncode, workdir, log_path, memory_mb, timeout_s, peak_mb)


def _wait_watching_memory(child: subprocess.Popen, timeout_s: float) -> float:
    """Wait for the child; return the highest address space (MB) it was seen to reach.

    A decoder that fails to allocate under RLIMIT_AS may not report it: some crash on the
    NULL they were given. A crashed child cannot say how close to the limit it was, so the
    parent watches (VmPeak is a high-water mark: a poll shortly before the crash suffices).
    """
    deadline = time.monotonic() + timeout_s
    peak_mb = 0.0
    while True:
        peak_mb = max(peak_mb, _address_space_peak_mb(f"/proc/{child.pid}/status"))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(child.args, timeout_s)
        try:
            child.wait(timeout=min(_POLL_S, remaining))
            return peak_mb
        except subprocess.TimeoutExpired:
            continue


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # glibc gives each thread its own malloc arena and reserves 64 MB of address space for
    # each (up to 8 per core): under RLIMIT_AS that reservation, not real use, would fail first.
    env["MALLOC_ARENA_MAX"] = "2"
    return env


def _outcome(
    returncode: int,
    workdir: Path,
    log_path: Path,
    memory_mb: int,
    timeout_s: float,
    peak_mb: float,
) -> Any:
    result_path = workdir / "result.json"
    if result_path.exists():
        result = json.loads(result_path.read_text())
        if result["ok"]:
            return result["value"]
        raise MediaError(result["reason"], result["code"])
    tail = _last_line(log_path)
    if returncode < 0:
        sig = signal.Signals(-returncode)
        if sig in (signal.SIGXCPU, signal.SIGALRM):
            raise MediaError(f"analysis timed out after {timeout_s:g} s", "timeout")
        # The kernel's OOM killer (a cgroup limit) is what SIGKILLs a child we did not kill.
        if sig == signal.SIGKILL or any(m in tail for m in _OOM_MARKERS):
            raise _out_of_memory(memory_mb)
        if sig in _CRASHES and peak_mb > memory_mb - _headroom_mb(memory_mb):
            raise _out_of_memory(memory_mb)
        raise MediaError(f"analysis crashed ({sig.name}){_detail(tail)}", "not_decodable")
    if any(m in tail for m in _OOM_MARKERS):
        raise _out_of_memory(memory_mb)
    raise MediaError(f"analysis failed (exit status {returncode}){_detail(tail)}", "not_decodable")


def _out_of_memory(memory_mb: int) -> MediaError:
    return MediaError(
        f"analysis needed more than the {memory_mb} MB of memory it is allowed and was stopped",
        "out_of_memory",
    )


def _last_line(log_path: Path) -> str:
    with open(log_path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        lines = f.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _detail(line: str) -> str:
    return f": {line[:300]}" if line else ""


# --- the child ---------------------------------------------------------------------------


def _limit_resources(memory_mb: int, timeout_s: float) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # CPU time adds up over threads, so a CPU limit equal to the timeout would stop a
    # multi-threaded decode early: allow every core the full timeout. It and the alarm are
    # backstops for a child whose parent died; the parent's wall clock is the real timeout.
    cpu_s = math.ceil(timeout_s) * (os.cpu_count() or 1) + _GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + _GRACE_S))
    signal.alarm(math.ceil(timeout_s) + _GRACE_S)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no multi-GB core files of decoders


def _run_request(workdir: Path) -> str:
    """The JSON outcome of the requested call: its value, or the refusal it ended in."""
    request = json.loads((workdir / "request.json").read_text())
    memory_mb = request["memory_mb"]
    _limit_resources(memory_mb, request["timeout_s"])
    try:
        module_name, _, function_name = request["target"].partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        value = function(*request["args"])
        return json.dumps({"ok": True, "value": value}, allow_nan=False)
    except MediaError as exc:
        error = exc
    except MemoryError:
        error = _out_of_memory(memory_mb)
    except Exception as exc:
        last = traceback.format_exception_only(exc)[-1].strip()
        # An allocation can also fail inside a library as an ordinary error (e.g. a shared
        # object that cannot be mapped under RLIMIT_AS).
        if any(marker in last for marker in _OOM_MARKERS):
            error = _out_of_memory(memory_mb)
        else:
            error = MediaError(f"analysis failed: {last}", "not_decodable")
    # FFmpeg does not always report a failed allocation as one: a decoder thread that could
    # not get memory can surface as "invalid data". A "damaged file" verdict reached with the
    # address space all but used up is more likely the limit's doing.
    peak_mb = _address_space_peak_mb("/proc/self/status")
    if error.code in _MAYBE_MEMORY and peak_mb > memory_mb - _headroom_mb(memory_mb):
        error = _out_of_memory(memory_mb)
    return json.dumps({"ok": False, "code": error.code, "reason": error.reason})


def _headroom_mb(memory_mb: int) -> float:
    return min(_HEADROOM_MB, memory_mb / 8)


def _address_space_peak_mb(status_path: str) -> float:
    """VmPeak of a process (0 when unknown: no procfs, or the process is gone)."""
    try:
        with open(status_path) as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass  # no procfs: no evidence either way
    return 0.0


def _main(workdir: Path) -> None:
    outcome = _run_request(workdir)
    partial = workdir / "result.json.part"
    partial.write_text(outcome)
    os.replace(partial, workdir / "result.json")  # the parent never reads half a result


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
