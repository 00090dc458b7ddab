"""Workers on several machines share the database and blob storage, each with its own
OUTTAKE_HOME: one machine's ingests and a lab's list uploaded on another reach them all, and
copies ingested at the same moment are checked one after the other."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.db import connection, transaction

from outtake.dedup import services as dedup
from outtake.dedup.models import (
    DuplicateHold,
    FrameHash,
    HashList,
    IndexChange,
    IndexState,
    ListMatch,
)
from outtake.media.dedup.matcher import N_VARIANTS
from tests.dedup.conftest import FIXTURES
from tests.dedup.test_flows import auth, hashes_file, prepared, upload

pytestmark = pytest.mark.django_db(transaction=True)


def on(settings, home: Path) -> None:
    """Work as the machine whose OUTTAKE_HOME is home (the database and blobs are shared)."""
    settings.OUTTAKE_HOME = home


def test_machines_see_each_others_ingests_and_lists(
    client, make_user, settings, tmp_path, bunny, variant
):
    first, second, lab = make_user("creator"), make_user("creator"), make_user("buyer")
    on(settings, tmp_path / "web")  # the web host takes the lab's list
    listed = client.post(
        "/api/dedup/corpus-lists",
        {"text": hashes_file(variant(bunny, "grey")), "kind": "outtake"},
        content_type="application/json",
        **auth(lab),
    )
    assert listed.status_code == 201 and listed.json()["matched_clips"] == 0
    hash_list = HashList.objects.get()

    on(settings, tmp_path / "worker-a")
    original = upload(first, bunny)
    on(settings, tmp_path / "worker-b")  # a worker that has seen neither the list nor the asset
    copy = upload(second, variant(bunny, "re-encode", start_s=1, end_s=5))

    hold = DuplicateHold.objects.get(clip__asset=copy)
    assert hold.matched_clip.asset == original and hold.kind == "near"
    matched = ListMatch.objects.filter(hash_list=hash_list)
    assert {m.clip.asset for m in matched} == {original, copy}  # applied on both workers

    # Back on the first worker: its index takes in the other's ingest from the change log.
    on(settings, tmp_path / "worker-a")
    assert IndexChange.objects.count() == 2
    frame = copy.clips.get().frame_hashes.first()
    full = np.frombuffer(bytes(frame.hashes), np.uint8)[:32][None]
    assert frame.pk in (dedup.catalogue_index().search(full, 0).ids // N_VARIANTS).tolist()


def test_a_worker_far_behind_or_new_rebuilds_its_index_from_the_database(
    make_user, settings, tmp_path, bunny
):
    on(settings, tmp_path / "worker-a")
    upload(make_user("creator"), bunny)
    on(settings, tmp_path / "worker-b")  # ingests while worker-a is away
    later = upload(make_user("creator"), FIXTURES / "video" / "bikes.mp4")
    assert IndexChange.objects.count() == 2
    IndexChange.objects.all().delete()  # pruned by `outtake dedup rebuild` on another machine
    for home in ("worker-a", "worker-new"):  # behind with its log gone; no index at all
        on(settings, tmp_path / home)
        found = dedup.find_matches(dedup.signature_of(later.clips.get().id))
        assert [clip.asset for clip, _ in found] == [later]


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite serialises writing transactions itself"
)
def test_copies_ingested_at_the_same_moment_are_checked_one_after_the_other(
    make_user, bunny, variant, monkeypatch
):
    first = prepared(make_user("creator"), bunny)
    second = prepared(make_user("creator"), variant(bunny, "re-encode"))
    searched, go = threading.Event(), threading.Event()
    real_check = dedup.check_asset

    def check_then_wait(asset):
        holds = real_check(asset)
        if asset == first[0]:
            searched.set()
            go.wait(30)  # the first ingest has searched and is not committed yet
        return holds

    monkeypatch.setattr(dedup, "check_asset", check_then_wait)

    def ingest(asset, clip, analysis):
        try:
            dedup.on_clips_made(asset, [clip], analysis)
        finally:
            connection.close()

    one = threading.Thread(target=ingest, args=first)
    two = threading.Thread(target=ingest, args=second)
    one.start()
    assert searched.wait(60)
    two.start()
    two.join(2)
    assert two.is_alive()  # waits for the first to commit instead of searching past it
    go.set()
    one.join(60)
    two.join(60)
    with transaction.atomic():
        hold = DuplicateHold.objects.get()
    assert (hold.clip.asset, hold.matched_clip.asset) == (second[0], first[0])


def test_an_index_built_from_another_database_is_rebuilt_even_at_the_same_generation(
    make_user, settings, tmp_path, bunny
):
    on(settings, tmp_path / "worker-a")
    asset = upload(make_user("creator"), bunny)
    frames = list(FrameHash.objects.filter(clip__asset=asset))
    assert dedup.find_matches(dedup.signature_of(asset.clips.get().id))
    # Another database (a restore, a reset) that happens to stand at the same generation,
    # without these frames: the cache stamped with the old epoch must not be used.
    state = IndexState.objects.get()
    IndexState.objects.filter(pk=state.pk).update(epoch=uuid.uuid4())
    FrameHash.objects.filter(pk__in=[f.pk for f in frames]).delete()
    full = np.frombuffer(bytes(frames[0].hashes), np.uint8)[:32][None]
    assert len(dedup.catalogue_index().search(full, 0).ids) == 0


def test_a_torn_generation_stamp_makes_the_machine_rebuild_its_index(
    make_user, settings, tmp_path, bunny
):
    on(settings, tmp_path / "worker")
    asset = upload(make_user("creator"), bunny)
    (dedup.index_dir() / "generation.json").write_text('["')  # a crash mid-write, long ago
    found = dedup.find_matches(dedup.signature_of(asset.clips.get().id))
    assert [clip.asset for clip, _ in found] == [asset]
    state = IndexState.objects.get()
    stamp = json.loads((dedup.index_dir() / "generation.json").read_text())
    assert stamp == [str(state.epoch), state.generation]


def test_a_crash_while_a_rebuild_writes_its_stamp_leaves_the_old_stamp_whole(
    make_user, settings, tmp_path, bunny, monkeypatch
):
    on(settings, tmp_path / "worker")
    upload(make_user("creator"), bunny)
    dedup.rebuild_index()
    stamp = dedup.index_dir() / "generation.json"
    before = stamp.read_text()
    write_text = Path.write_text

    def crash_halfway(path, text, *args, **kwargs):
        if path.name.startswith("generation.json"):
            write_text(path, text[: len(text) // 2], *args, **kwargs)
            raise OSError("disk gone")
        return write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", crash_halfway)
    with pytest.raises(OSError, match="disk gone"):
        dedup.rebuild_index()
    assert stamp.read_text() == before
