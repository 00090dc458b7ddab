import shutil

import pytest

from tests.delivery.packages import build_package
from tests.delivery.rgw import start_rgw


@pytest.fixture
def package(db, make_user, tmp_path):
    """(delivery, folder, video clip, photo clip, buyer) of a real built package."""
    return build_package(make_user, tmp_path)


@pytest.fixture(scope="session")
def rgw():
    """A real S3-compatible server (Ceph RGW) on loopback, once per session."""
    server = start_rgw()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
