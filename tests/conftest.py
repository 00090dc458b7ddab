"""Shared fixtures: users and media for in-process tests, and a real running exchange."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_tool(path_or_name: str, why: str) -> str:
    """A system tool a test needs: skipped on a laptop without it, a failure under CI=true."""
    found = shutil.which(path_or_name) or (path_or_name if os.path.exists(path_or_name) else None)
    if found:
        return found
    if IN_CI:
        pytest.fail(f"{path_or_name} is missing in CI ({why}); .ci/run must install it")
    pytest.skip(f"{path_or_name} not installed ({why})")
    return ""


@pytest.fixture
def fixture_path():
    return lambda *parts: FIXTURES.joinpath(*parts)


@pytest.fixture
def make_user(db):
    from outtake.accounts.services import accept_creator_agreement, create_token, create_user

    def make(role: str, email: str | None = None, agreement: bool = True, **kw):
        """A user with a raw API token; a creator has accepted the creator agreement unless
        `agreement=False`, as a real creator does before uploading."""
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        user = create_user(email, "correct horse battery", role, **kw)
        if role == "creator" and agreement:
            accept_creator_agreement(user)
        user.raw_token = create_token(user, "test").raw
        return user

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_database() -> tuple[str | None, callable]:
    """With OUTTAKE_DATABASE_URL on PostgreSQL, a fresh database for the server under test."""
    url = os.environ.get("OUTTAKE_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None, lambda: None
    import psycopg

    name = f"outtake_e2e_{uuid.uuid4().hex[:8]}"
    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlparse(url)._replace(path=f"/{name}").geturl(), drop


@dataclass
class Exchange:
    """A real Outtake (`outtake serve`: uvicorn + worker) in a subprocess."""

    base_url: str
    home: Path
    env: dict
    process: subprocess.Popen
    log: Path
    users: dict = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "outtake.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def create_user(self, role: str, email: str, password: str = "correct horse battery"):
        out = self.cli("user", "create", "--role", role, "--email", email, "--password", password)
        info = json.loads(out.stdout)
        info["password"] = password
        if role == "creator":  # a creator accepts the creator agreement before uploading
            r = self.api(info["token"]).post(self.url("/api/agreement"), json={}, timeout=60)
            r.raise_for_status()
        return info

    def api(self, token: str) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        return s

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_for(self, check, timeout: float = 60, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}\n{self.log.read_text()[-4000:]}")


@contextmanager
def running_exchange(home: Path, extra_env: dict | None = None) -> Iterator[Exchange]:
    """Start `outtake serve` over its own home (and database, on PostgreSQL); stop it after."""
    port = _free_port()
    db_url, drop_db = _postgres_database()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OUTTAKE_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "OUTTAKE_HOME": str(home),
            "OUTTAKE_PORT": str(port),
            "OUTTAKE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OUTTAKE_LOGIN_FAILURE_LIMIT": "50",
            "OUTTAKE_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    if db_url:
        env["OUTTAKE_DATABASE_URL"] = db_url
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "outtake.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ex = Exchange(f"http://127.0.0.1:{port}", home, env, process, log)
    try:
        ex.wait_for(lambda: _up(ex.base_url), timeout=90, what="the server to start")
        yield ex
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        drop_db()


@pytest.fixture(scope="session")
def exchange(tmp_path_factory) -> Iterator[Exchange]:
    with running_exchange(tmp_path_factory.mktemp("exchange-home")) as ex:
        yield ex


def _up(base_url: str) -> bool:
    try:
        return requests.get(base_url + "/api/openapi.json", timeout=10).status_code == 200
    except requests.RequestException:  # not listening yet, or too busy to answer in time
        return False
