"""Ingest tries a failure that may pass again (huey's retries, for that asset only) and takes
a file's own verdict at once; after the last attempt the asset is rejected with a reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import OperationalError

from outtake.catalog import services, tasks
from outtake.catalog.services import register_upload
from outtake.media.errors import MediaError
from outtake.notices.models import Notification

FIXTURES = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def attempts(monkeypatch):
    """Calls of the sandboxed analysis, failing as told: attempts.failures is a list of
    exceptions raised by the first calls, one each. Retries run at once (jobs run inline)."""
    monkeypatch.setattr(tasks.ingest_asset.task_class, "default_retry_delay", 0)
    real = services.inspect_isolated
    calls = []

    def inspect(*args, **kwargs):
        calls.append(args[0])
        if attempts.failures:
            raise attempts.failures.pop(0)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "inspect_isolated", inspect)
    attempts.failures, attempts.calls = [], calls
    return attempts


def upload(user, tmp_path: Path, name: str = "coffee.png"):
    partial = tmp_path / "partial.bin"
    shutil.copy(FIXTURES / "photo" / name, partial)
    asset = register_upload(user, partial, name)
    asset.refresh_from_db()
    return asset


def test_a_failure_that_passes_is_retried_and_the_asset_made_ready(make_user, tmp_path, attempts):
    attempts.failures = [OperationalError("database is locked")]
    asset = upload(make_user("creator"), tmp_path)
    assert asset.status == "ready", asset.status_reason
    assert len(attempts.calls) == 2 and asset.clips.count() == 1


def test_a_sandbox_out_of_time_is_tried_again(make_user, tmp_path, attempts):
    attempts.failures = [MediaError("analysis timed out after 3600 s", "timeout")]
    asset = upload(make_user("creator"), tmp_path)
    assert asset.status == "ready" and len(attempts.calls) == 2


def test_the_files_own_verdict_rejects_at_once(make_user, tmp_path, attempts):
    attempts.failures = [MediaError("The file is damaged", "not_decodable")]
    asset = upload(make_user("creator"), tmp_path)
    assert (asset.status, asset.status_reason) == ("rejected", "The file is damaged")
    assert len(attempts.calls) == 1


def test_after_the_last_attempt_it_is_rejected_and_a_reviewer_told(make_user, tmp_path, attempts):
    creator, reviewer = make_user("creator"), make_user("reviewer")
    attempts.failures = [RuntimeError("disk on fire")] * 3
    asset = upload(creator, tmp_path)
    assert len(attempts.calls) == 1 + tasks.ingest_asset.retries
    assert asset.status == "rejected" and "internal error" in asset.status_reason
    assert Notification.objects.filter(user=reviewer, kind="asset.ingest_failed").exists()
    assert Notification.objects.get(user=creator, kind="asset.rejected")

    attempts.failures = [MediaError("analysis timed out after 3600 s", "timeout")] * 3
    slow = upload(creator, tmp_path, "astronaut.png")
    assert slow.status == "rejected" and slow.status_reason == "analysis timed out after 3600 s"
