"""Reanalysis: assets the current pipeline version analysed are skipped, stale ones are redone
(in the sandbox, for real) with their old previews deleted from storage and their old frames
swapped for the new in the dedup index, and a crash leaves the asset as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outtake.catalog import services
from outtake.catalog.models import Asset
from outtake.cli import app
from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold, FrameHash
from outtake.media.dedup.matcher import N_VARIANTS
from outtake.media.inspect import inspect_file
from outtake.storage import get_store
from tests.factories import license_for, ready_clip

COFFEE = Path(__file__).resolve().parents[1] / "fixtures" / "photo" / "coffee.png"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> tuple[Path, dict]:
    """One real analysis of a photo (with previews), shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("analysed")
    result = inspect_file(
        str(COFFEE),
        str(folder / "thumb.jpg"),
        preview_dir=str(folder / "previews"),
    )
    return folder, result


@pytest.fixture
def ready(make_user, analysed, django_capture_on_commit_callbacks):
    """A ready photo asset in storage, its clips and previews made as ingest makes them."""
    folder, result = analysed
    creator = make_user("creator", agreement=False)
    asset = Asset.objects.create(
        owner=creator.organization,
        uploaded_by=creator,
        original_filename="coffee.png",
        blob_key="originals/coffee-test.png",
    )
    get_store().put_file(asset.blob_key, COFFEE)
    with django_capture_on_commit_callbacks(execute=True):
        services._make_ready(asset, result["probe"], result["analysis"], folder / "previews")
    asset.refresh_from_db()
    assert asset.status == Asset.Status.READY
    return asset


def _make_stale(asset: Asset) -> str:
    """Mark the clips as made by an older pipeline; return the preview blob they point to."""
    (clip,) = asset.clips.all()
    assert clip.preview_key and get_store().get_bytes(clip.preview_key)
    asset.clips.update(pipeline_version="outtake-analysis/0")
    return clip.preview_key


def test_an_asset_the_current_version_analysed_is_skipped(ready):
    version = services.analysis_version()
    assert services.is_analysed_by(ready, version)
    assert not services.stale_assets(version).filter(pk=ready.pk).exists()
    before = list(ready.clips.values_list("id", flat=True))
    assert services.reanalyse(str(ready.id)) is False
    assert list(ready.clips.values_list("id", flat=True)) == before


def test_a_stale_asset_is_reanalysed_and_its_old_previews_deleted(
    ready, django_capture_on_commit_callbacks
):
    old_preview = _make_stale(ready)
    version = services.analysis_version()
    assert services.stale_assets(version).filter(pk=ready.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reanalyse(str(ready.id)) is True
    (clip,) = ready.clips.all()
    assert clip.pipeline_version == version
    assert clip.preview_key != old_preview and get_store().get_bytes(clip.preview_key)
    with pytest.raises(FileNotFoundError):
        get_store().get_bytes(old_preview)
    ready.refresh_from_db()
    assert get_store().get_bytes(ready.sheet_key)  # same key, rewritten, not deleted
    assert not services.stale_assets(version).filter(pk=ready.pk).exists()


def test_a_reanalysis_swaps_the_old_clips_frames_for_the_new_in_the_dedup_index(
    ready, django_capture_on_commit_callbacks
):
    dedup.rebuild_index()  # the old frames in the index's tables, not only its tail
    (old_frame,) = FrameHash.objects.filter(clip__asset=ready)
    full_hash = np.frombuffer(bytes(old_frame.hashes), np.uint8)[:32][None]
    _make_stale(ready)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reanalyse(str(ready.id)) is True
    (new_frame,) = FrameHash.objects.filter(clip__asset=ready)
    assert new_frame.pk != old_frame.pk and bytes(new_frame.hashes) == bytes(old_frame.hashes)
    found = dedup.catalogue_index().search(full_hash, 0).ids // N_VARIANTS
    assert found.tolist() == [new_frame.pk]


def test_a_crash_leaves_the_asset_and_its_clips_as_they_were(ready, monkeypatch):
    old_preview = _make_stale(ready)
    before = list(ready.clips.values_list("id", flat=True))

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(services, "inspect_isolated", crash)
    with pytest.raises(RuntimeError):
        services.reanalyse(str(ready.id))
    ready.refresh_from_db()
    assert ready.status == Asset.Status.READY
    assert list(ready.clips.values_list("id", flat=True)) == before
    assert get_store().get_bytes(old_preview)


def test_assets_that_are_not_ready_are_refused(ready):
    Asset.objects.filter(pk=ready.pk).update(status=Asset.Status.REJECTED)
    with pytest.raises(services.CatalogError, match="not ready"):
        services.reanalyse(str(ready.id))


def test_the_command_reanalyses_only_stale_assets(ready, django_capture_on_commit_callbacks):
    runner = CliRunner()
    result = runner.invoke(app, ["reanalyse", "--all"])
    assert result.exit_code == 0, result.output
    assert "0 reanalysed" in result.output
    _make_stale(ready)
    with django_capture_on_commit_callbacks(execute=True):
        result = runner.invoke(app, ["reanalyse", "--all"])
    assert result.exit_code == 0, result.output
    assert "1 reanalysed, 0 already current, 0 failed" in result.output
    assert runner.invoke(app, ["reanalyse"]).exit_code == 2


def test_a_copy_held_against_a_reanalysed_asset_stays_held_as_decided(
    ready, make_user, django_capture_on_commit_callbacks
):
    (old,) = ready.clips.all()
    hold = DuplicateHold.objects.create(
        clip=ready_clip(make_user("creator")), matched_clip=old, kind="near"
    )
    dedup.decide(hold, make_user("reviewer"), "duplicate")
    _make_stale(ready)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reanalyse(str(ready.id)) is True
    (new,) = ready.clips.all()
    hold.refresh_from_db()
    assert new.pk != old.pk and (hold.matched_clip, hold.status) == (new, "duplicate")


def test_licensed_clips_are_not_reanalysed_even_with_copies_held_against_them(ready, make_user):
    (clip,) = ready.clips.all()
    DuplicateHold.objects.create(clip=ready_clip(make_user("creator")), matched_clip=clip)
    license_for(make_user("buyer"), [(clip, clip.price_minor)])
    _make_stale(ready)
    with pytest.raises(services.CatalogError, match="quotes or licenses"):
        services.reanalyse(str(ready.id))
    assert list(ready.clips.all()) == [clip]
