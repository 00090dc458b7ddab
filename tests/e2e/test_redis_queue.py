"""OUTTAKE_QUEUE_URL=redis://… moves background jobs to RedisHuey: the same path works."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import _free_port, need_tool, running_exchange
from tests.e2e.test_api_path import tus_upload, wait_asset

FIXTURES = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.e2e


@pytest.fixture
def redis_url(tmp_path):
    server = need_tool("redis-server", "the Redis queue test")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_runs_on_a_redis_queue(redis_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with running_exchange(home, {"OUTTAKE_QUEUE_URL": redis_url}) as exchange:
        creator = exchange.create_user("creator", "redis@example.org")
        photo = tmp_path / "coffee.png"
        shutil.copy(FIXTURES / "photo" / "coffee.png", photo)
        tus_upload(exchange, creator["token"], photo)
        (asset,) = wait_asset(exchange, exchange.api(creator["token"]))
        assert asset["status"] == "ready", asset["status_reason"]
    # The SQLite queue file was never used: the jobs went through Redis.
    assert not (home / "queue.sqlite3").exists()
