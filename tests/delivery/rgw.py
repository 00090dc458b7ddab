"""A real S3-compatible server on loopback: Debian's Ceph RGW on a one-node cluster.

One monitor, one OSD on memstore (RAM, nothing on disk but logs) and radosgw, all in a temp
folder on free ports, with cephx off (FIELD-NOTES: auth "none" also needs the `ms_*_mode`
settings). Started once per test session; everything is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.conftest import _free_port, need_tool

ACCESS_KEY = "OUTTAKETESTACCESS"
SECRET_KEY = "outtake-test-secret-key-for-rgw-only"
START_TIMEOUT_S = 90

CONF = """[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc secure
ms service mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms mon service mode = crc secure
ms mon client mode = crc secure
run dir = {root}/run
admin socket = {root}/run/$name.asok
log file = {root}/log/$name.log
pid file = {root}/run/$name.pid
mon data = {root}/mon/$cluster-$id
osd data = {root}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 3221225472
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd op num threads per shard = 1
osd op num shards = 1
public addr = 127.0.0.1
cluster addr = 127.0.0.1

[client.rgw.outtake]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {root}/rgw
rgw enable usage log = false
rgw dns name = 127.0.0.1
"""


@dataclass
class Rgw:
    """A running RGW: its endpoint and an admin user's keys."""

    root: Path
    endpoint: str = ""
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "ceph.conf"

    def _run(self, *args: str) -> str:
        return subprocess.run(
            [*args, "-c", str(self.conf)], check=True, capture_output=True, text=True, timeout=60
        ).stdout

    def _spawn(self, *args: str) -> None:
        log = open(self.root / "log" / f"{Path(args[0]).name}.out", "ab")  # noqa: SIM115
        self.procs.append(
            subprocess.Popen(
                [*args, "-f", "-c", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> Rgw:
        for tool in ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool"):
            need_tool(tool, "the S3 push is tested against Ceph RGW on loopback")
        for sub in ("run", "log", "mon/ceph-a", "osd/ceph-0", "rgw"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        mon_port, rgw_port = _free_port(), _free_port()
        fsid = str(uuid.uuid4())
        self.conf.write_text(
            CONF.format(fsid=fsid, mon_port=mon_port, rgw_port=rgw_port, root=self.root)
        )
        monmap = self.root / "monmap"
        subprocess.run(
            ["monmaptool", "--create", "--fsid", fsid, "--addv", "a",
             f"[v2:127.0.0.1:{mon_port}]", str(monmap)],
            check=True, capture_output=True,
        )  # fmt: skip
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(monmap))
        self._spawn("ceph-mon", "-i", "a")
        osd_id = self._run("ceph", "--connect-timeout", "30", "osd", "create").strip()
        self._run("ceph-osd", "-i", osd_id, "--mkfs")
        self._spawn("ceph-osd", "-i", osd_id)
        self._spawn("radosgw", "-n", "client.rgw.outtake")
        self.endpoint = f"http://127.0.0.1:{rgw_port}"
        self._wait()
        self._run(
            "radosgw-admin", "user", "create", "--uid", "outtake-test", "--display-name",
            "Outtake test", "--access-key", ACCESS_KEY, "--secret", SECRET_KEY,
        )  # fmt: skip
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited: see {self.root / 'log'}")
            try:
                if requests.get(self.endpoint, timeout=2).status_code < 500:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"RGW did not answer within {START_TIMEOUT_S} s: see {self.root}/log")

    def stop(self) -> None:
        """Kill outright: memstore keeps nothing worth a clean shutdown."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_rgw() -> Rgw:
    root = Path(tempfile.mkdtemp(prefix="outtake-rgw-"))
    rgw = Rgw(root)
    try:
        return rgw.start()
    except BaseException:
        rgw.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
