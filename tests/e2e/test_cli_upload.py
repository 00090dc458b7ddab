"""`outtake upload DIR`: uploads a folder, skips what the server has, refuses a bad token."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.test_api_path import wait_asset

FIXTURES = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.e2e


def test_cli_upload_skips_known_files(exchange, tmp_path):
    creator = exchange.create_user("creator", "cli-upload@example.org")
    folder = tmp_path / "footage"
    (folder / "day1").mkdir(parents=True)
    shutil.copy(FIXTURES / "video" / "bikes.mp4", folder / "day1" / "bikes.mp4")
    shutil.copy(FIXTURES / "photo" / "coffee.png", folder / "coffee.png")
    env_home = {"HOME": str(tmp_path / "home")}
    exchange.env.update(env_home)

    args = (
        "upload",
        str(folder),
        "--server",
        exchange.base_url,
        "--token",
        creator["token"],
        "--attest",
    )
    first = exchange.cli(*args, check=False)
    assert first.returncode == 0, first.stderr
    assert "uploaded 2, skipped 0" in first.stderr.replace("\n", " ")
    assets = wait_asset(exchange, exchange.api(creator["token"]), count=2)
    assert sorted(a["filename"] for a in assets) == ["bikes.mp4", "coffee.png"]
    assert all(a["status"] == "ready" for a in assets)

    again = exchange.cli(*args, check=False)
    assert again.returncode == 0, again.stderr
    assert "uploaded 0, skipped 2" in again.stderr.replace("\n", " ")

    refused = exchange.cli(
        "upload",
        str(folder),
        "--server",
        exchange.base_url,
        "--token",
        "ot_00000000_wrong",
        "--attest",
        check=False,
    )
    assert refused.returncode == 2
    assert "refused the token" in refused.stderr


def test_check_reports_balanced_books_and_intact_chain(exchange):
    out = exchange.cli("check", check=False)
    assert out.returncode == 0, out.stderr
    assert "ledger: balanced" in out.stderr and "audit chain: intact" in out.stderr
