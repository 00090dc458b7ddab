"""Packaging in worker processes: each writes its own shards; the parent numbers them in key
order and sorts the index, so the package reads the same however the work was shared."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from outtake.delivery.bench import _specs
from outtake.delivery.package import Schedule, write_samples
from outtake.provenance.c2pa_sign import Signer, read_state

VIDEO = Path(__file__).parent.parent / "fixtures" / "video" / "bigbuckbunny.mp4"


def test_workers_shards_are_numbered_in_key_order_and_every_member_is_where_the_index_says(
    tmp_path,
):
    specs = _specs([VIDEO] * 5)[::-1]  # handed out in reverse: the index still comes sorted
    signer = Signer(tmp_path / "pki")
    # One sample per shard (a shard is full once it holds anything), shared by two workers.
    packaged = write_samples(specs, tmp_path / "out", 1, signer, 2, memory_budget=1 << 30)

    assert packaged.worker_cpu_s > 0
    _assert_one_sample_per_shard_in_key_order(packaged, tmp_path, 5)


def _assert_one_sample_per_shard_in_key_order(packaged, tmp_path, count: int) -> None:
    keys = [f"bench-{i:04d}" for i in range(count)]
    assert [r["key"] for r in packaged.rows] == keys
    assert [s.name for s in packaged.shards] == [f"shard-{i:06d}.tar" for i in range(count)]
    assert sorted(p.name for p in (tmp_path / "out" / "shards").iterdir()) == [
        s.name for s in packaged.shards
    ]
    root = (tmp_path / "pki" / "root.pem").read_bytes()
    for row, shard in zip(packaged.rows, packaged.shards, strict=True):
        assert row["shard"] == f"shards/{shard.name}"
        raw = shard.path.read_bytes()
        assert shard.sha256 == hashlib.sha256(raw).hexdigest() and shard.size == len(raw)
        media = raw[row["media_offset"] : row["media_offset"] + row["media_size"]]
        assert hashlib.sha256(media).hexdigest() == row["media_sha256"]
        meta = json.loads(raw[row["json_offset"] : row["json_offset"] + row["json_size"]])
        assert meta["provenance"]["delivered_sha256"] == row["media_sha256"]
        with tarfile.open(shard.path) as tar:
            assert tar.getnames() == [f"{row['key']}.mp4", f"{row['key']}.json"]
        assert read_state(media, "video/mp4", root)[0] == "Trusted"


def test_a_budget_smaller_than_any_file_signs_one_at_a_time_and_the_package_is_whole(tmp_path):
    specs = _specs([VIDEO] * 4)
    packaged = write_samples(
        specs, tmp_path / "out", 1, Signer(tmp_path / "pki"), 2, memory_budget=1
    )

    _assert_one_sample_per_shard_in_key_order(packaged, tmp_path, 4)
    # Each file (the same clip, so the same size) was signed alone: at most one file's two
    # copies were ever admitted at once, never two files' four.
    largest = max(r["media_size"] for r in packaged.rows)
    assert largest < packaged.peak_signing_bytes <= 2 * largest


def test_a_sample_that_fails_in_a_worker_fails_the_package_and_stops_the_others(tmp_path):
    specs = _specs([tmp_path / "gone.mp4", *[VIDEO] * 8])
    with pytest.raises(FileNotFoundError):
        write_samples(
            specs, tmp_path / "out", 1 << 30, Signer(tmp_path / "pki"), 2, memory_budget=1 << 30
        )
    written = []
    for shard in (tmp_path / "out" / "shards").iterdir():
        with tarfile.open(shard) as tar:
            written += [name for name in tar.getnames() if name.endswith(".mp4")]
    assert len(written) < 8  # the other worker stopped after the sample it was writing


# A delivery whose first sample fails while 200 others, each with several KB of labels as real
# samples carry, are still to be handed out.
_FAILS_EARLY = """
import sys
from pathlib import Path

from outtake.delivery.bench import _specs
from outtake.delivery.package import Schedule, write_samples
from outtake.provenance.c2pa_sign import Signer

tmp, video = Path(sys.argv[1]), Path(sys.argv[2])
specs = _specs([tmp / "gone.mp4", *[video] * 200])
for spec in specs:
    spec.labels["padding"] = "x" * 10_000
try:
    write_samples(specs, tmp / "out", 1 << 30, Signer(tmp / "pki"), 2, memory_budget=1 << 30)
except FileNotFoundError:
    print("the delivery failed")
"""


def test_a_failed_delivery_with_many_samples_left_lets_the_process_exit(tmp_path):
    result = _run_alone([sys.executable, "-c", _FAILS_EARLY, str(tmp_path), str(VIDEO)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the delivery failed"


# A delivery whose first- or last-started worker (argv[3]: 1 or 2) is killed, as by the OOM
# killer, while it signs, once the other worker waits for signing memory (a budget of one byte
# admits one file at a time). The pool pickles the signer in the parent as it starts each
# worker, which tells that worker which it is. The last starts slowly, as on a loaded machine:
# the pool's manager, woken by the submit that starts it, is back waiting before it exists (the
# window 277c7d6 closes). A file, not `-c`: the workers unpickle the signer's class from it.
_KILLED_WHILE_SIGNING = """
import os
import signal
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from outtake.delivery import package
from outtake.delivery.bench import _specs
from outtake.provenance.c2pa_sign import Signer


class OneWorkerKilledWhileSigning(Signer):
    started = 0  # workers the pool started: it pickled their signer

    def __getstate__(self):
        OneWorkerKilledWhileSigning.started += 1
        if self.started == 2:
            time.sleep(0.5)
        return (*super().__getstate__(), self.started == int(sys.argv[3]))

    def __setstate__(self, state):  # also from __init__, without the flag
        super().__setstate__(state[:2])
        self.dies = state[2:] == (True,)

    def sign(self, *args, **kwargs):
        schedule = package._worker["schedule"]
        if self.dies:
            while schedule._tickets.value <= schedule._serving.value:  # no one waits behind it
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGKILL)
        while schedule._tickets.value < 2:  # the one to die asked too: it gets a sample
            time.sleep(0.01)
        super().sign(*args, **kwargs)


if __name__ == "__main__":
    tmp, video = Path(sys.argv[1]), Path(sys.argv[2])
    signer = OneWorkerKilledWhileSigning(tmp / "pki")
    # Three samples: one for the worker to die, and one more to wait behind it for any other.
    try:
        package.write_samples(_specs([video] * 3), tmp / "out", 1 << 30, signer, 2, memory_budget=1)
    except BrokenProcessPool:
        print("the delivery failed")
"""


@pytest.mark.parametrize("killed", [1, 2], ids=["first-started", "last-started"])
def test_a_worker_killed_while_another_waits_for_memory_fails_the_delivery(tmp_path, killed):
    script = tmp_path / "killed_while_signing.py"
    script.write_text(_KILLED_WHILE_SIGNING)
    result = _run_alone([sys.executable, str(script), str(tmp_path), str(VIDEO), str(killed)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the delivery failed"


def _run_alone(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a delivery script in a process group of its own; if it hangs, kill the whole group
    (the script, its forkserver and its workers) so that nothing is left running."""
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"the delivery hung for {timeout} s")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _admitting(schedule: Schedule, need: int) -> tuple[threading.Thread, threading.Event]:
    """A worker asking for `need` bytes in a thread, returned once it has taken its turn (so a
    worker started after it is after it in line); the event is set once it is admitted."""
    admitted = threading.Event()

    def ask() -> None:
        if schedule.admit(need):
            admitted.set()

    turn = schedule._tickets.value
    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while schedule._tickets.value == turn:
        assert time.monotonic() < deadline, "the worker never asked for memory"
        time.sleep(0.001)
    return thread, admitted


def test_signing_is_admitted_while_it_fits_the_budget_in_turn_and_a_bigger_file_alone():
    schedule = Schedule(3, 100, multiprocessing.get_context("forkserver"))
    assert [schedule.take(), schedule.take(), schedule.take(), schedule.take()] == [0, 1, 2, None]
    assert schedule.admit(60)
    _, second = _admitting(schedule, 60)  # 120 > 100: waits for the first
    assert not second.wait(0.3)
    _, small = _admitting(schedule, 10)  # would fit, but its turn is after the second's
    assert not small.wait(0.3)
    schedule.release(60)
    assert second.wait(5) and small.wait(5)
    assert schedule.peak == 70

    _, huge = _admitting(schedule, 500)  # more than the budget: only once nothing else is in
    assert not huge.wait(0.3)
    schedule.release(60)
    assert not huge.wait(0.3)
    schedule.release(10)
    assert huge.wait(5)
    _, after = _admitting(schedule, 1)  # nothing beside it
    assert not after.wait(0.3)
    schedule.release(500)
    assert after.wait(5)
    assert schedule.peak == 500


def test_a_stopped_schedule_hands_out_nothing_and_lets_waiting_workers_go():
    schedule = Schedule(5, 100, multiprocessing.get_context("forkserver"))
    assert schedule.take() == 0 and schedule.admit(100)
    thread, admitted = _admitting(schedule, 50)
    schedule.stop()
    thread.join(5)
    assert not thread.is_alive() and not admitted.is_set()
    assert schedule.take() is None
