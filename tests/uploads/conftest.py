"""Fixtures for the upload tests; the harness itself is in tus_harness.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uploads.tus_harness import Server, build_app, make_tus, serve


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "received").mkdir()
    state = Server(url="", app=None, directory=tmp_path / "tus", received=tmp_path / "received")
    state.app = make_tus(state)
    with serve(build_app(state)) as url:
        state.url = url
        yield state
