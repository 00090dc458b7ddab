"""Frames, indexes and lists stored before the central 95 and 85 % regions existed (four
variants a frame, index ids frame × 4) keep working: rows are read with the two regions
absent, and indexes in the older layout are rebuilt from the frames, not searched."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold, FrameHash, HashList, ListMatch
from outtake.media.dedup.index import FORMAT, HashIndex
from outtake.media.dedup.matcher import N_VARIANTS
from outtake.storage import get_store
from tests.dedup.test_flows import auth, hashes_file, upload

pytestmark = pytest.mark.django_db


def as_four_variants(rows) -> None:
    for row in rows:
        row.hashes = bytes(row.hashes)[: 4 * 32]
        row.save(update_fields=["hashes"])


def older_layout(folder: Path) -> None:
    """The index saved in folder, made to say it is of the layout before format 3."""
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": 2}))


def test_older_rows_and_index_are_read_and_rebuilt(make_user, settings, tmp_path, bunny, variant):
    settings.OUTTAKE_HOME = tmp_path / "worker"
    first = upload(make_user("creator"), bunny)
    frames = list(FrameHash.objects.filter(clip__asset=first))
    as_four_variants(frames)
    signature = dedup.signature_of(first.clips.get().id)
    assert signature.hashes.shape == (len(frames), N_VARIANTS, 32)
    assert not signature.hashes[:, 4:].any()  # c95, c85 absent; samples keep c90, c80
    assert signature.hashes[~signature.extra, 2:4].any(axis=-1).all()
    dedup.rebuild_index()
    older_layout(dedup.index_dir())

    copy = upload(make_user("creator"), variant(bunny, "crop 10%", start_s=1, end_s=5))
    assert DuplicateHold.objects.get(clip__asset=copy).matched_clip.asset == first
    index = HashIndex.load(dedup.index_dir())
    assert index.format == FORMAT and not index.stale
    rows = {f.pk for f in frames} | set(
        FrameHash.objects.filter(clip__asset=copy).values_list("pk", flat=True)
    )
    assert set((np.concatenate([index.ids, index.tail_ids]) // N_VARIANTS).tolist()) == rows


def test_a_list_stored_with_four_variants_is_applied(client, make_user, settings, tmp_path, bunny):
    lab, creator = make_user("buyer"), make_user("creator")
    settings.OUTTAKE_HOME = tmp_path / "web"
    response = client.post(
        "/api/dedup/corpus-lists",
        {"text": hashes_file(bunny), "kind": "outtake"},
        content_type="application/json",
        **auth(lab),
    )
    assert response.status_code == 201, response.content
    hash_list = HashList.objects.get()
    key = f"dedup/lists/{hash_list.id}/frames.npy"
    stored = np.load(io.BytesIO(get_store().get_bytes(key)))
    older = io.BytesIO()
    np.save(older, stored[:, :4])  # as a list uploaded before was stored
    get_store().put_bytes(key, older.getvalue())
    folder = settings.OUTTAKE_HOME / "dedup" / "lists" / str(hash_list.id)
    older_layout(folder / "index")

    settings.OUTTAKE_HOME = tmp_path / "worker"  # one machine fetches it, one has it stale
    asset = upload(creator, bunny)
    assert ListMatch.objects.filter(hash_list=hash_list, clip__asset=asset).exists()
    ListMatch.objects.all().delete()
    settings.OUTTAKE_HOME = tmp_path / "web"
    assert dedup.apply_list(hash_list, asset.clips.all()) == 1
    assert not HashIndex.load(folder / "index").stale
