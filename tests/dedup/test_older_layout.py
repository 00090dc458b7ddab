"""Frames, indexes and lists stored before the central 95 and 85 % regions existed (four
variants a frame, index ids frame × 4) or before the cuts (ten, frame × 10) keep working: rows
are read with the later variants absent, and indexes in an older layout are rebuilt from the
frames, not searched."""

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


def as_four_variants(rows, variants: int = 4) -> None:
    for row in rows:
        row.hashes = bytes(row.hashes)[: variants * 32]
        row.save(update_fields=["hashes"])


def older_layout(folder: Path, version: int = 2) -> None:
    """The index saved in folder, made to say it is of an older layout."""
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": version}))


@pytest.mark.parametrize(
    "variants, version, transform", [(4, 2, "crop 10%"), (10, 3, "cut 10% right")]
)
def test_older_rows_and_index_are_read_and_rebuilt(
    make_user, settings, tmp_path, bunny, variant, variants, version, transform
):
    """A copy still matches rows of the older layouts: the copy cut on one side through its
    own cuts against the older rows' central regions."""
    settings.OUTTAKE_HOME = tmp_path / "worker"
    first = upload(make_user("creator"), bunny)
    frames = list(FrameHash.objects.filter(clip__asset=first))
    as_four_variants(frames, variants)
    signature = dedup.signature_of(first.clips.get().id)
    assert signature.hashes.shape == (len(frames), N_VARIANTS, 32)
    assert not signature.hashes[:, variants:].any()  # the later variants absent
    assert signature.hashes[~signature.extra, 2:4].any(axis=-1).all()  # samples keep c90, c80
    dedup.rebuild_index()
    older_layout(dedup.index_dir(), version)

    copy = upload(make_user("creator"), variant(bunny, transform, start_s=1, end_s=5))
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
