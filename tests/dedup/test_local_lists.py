"""Hash lists taken before lists were kept in blob storage exist only in the folder of the
machine that took them (OUTTAKE_HOME/dedup/lists/<id>): `outtake dedup rebuild` and that
machine's first index catch-up copy them into storage, so workers elsewhere apply them too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outtake.catalog.models import Clip
from outtake.cli import app
from outtake.dedup import services as dedup
from outtake.dedup.models import HashList, ListMatch
from outtake.media.dedup.index import HashIndex
from outtake.media.dedup.lists import bag_index, parse
from outtake.media.dedup.matcher import widened
from outtake.storage import get_store
from tests.dedup.test_flows import auth, hashes_file, upload

pytestmark = pytest.mark.django_db
BLOBS = ("frames.npy", "sha256.txt")


def on(settings, home: Path) -> None:
    """Work as the machine whose OUTTAKE_HOME is home (the database and blobs are shared)."""
    settings.OUTTAKE_HOME = home


def blob(hash_list: HashList, name: str) -> str:
    return f"dedup/lists/{hash_list.id}/{name}"


def taken_before_lists_were_stored(client, lab, text: str) -> HashList:
    """A list as the web host took it before c09ee41: its hashes in its own folder only."""
    response = client.post(
        "/api/dedup/corpus-lists",
        {"text": text, "kind": "outtake"},
        content_type="application/json",
        **auth(lab),
    )
    assert response.status_code == 201, response.content
    hash_list = HashList.objects.get(pk=response.json()["id"])
    assert (dedup.settings.OUTTAKE_HOME / "dedup" / "lists" / str(hash_list.id)).is_dir()
    for name in BLOBS:
        get_store().delete(blob(hash_list, name))
    return hash_list


def entries(index) -> list[tuple[int, bytes]]:
    return sorted(zip(index.ids.tolist(), (bytes(w) for w in np.asarray(index.words)), strict=True))


def test_rebuild_copies_a_list_held_only_here_so_other_workers_apply_it(
    client, make_user, settings, tmp_path, bunny
):
    lab, creator = make_user("buyer"), make_user("creator")
    text = hashes_file(bunny)
    on(settings, tmp_path / "web")
    hash_list = taken_before_lists_were_stored(client, lab, text)

    on(settings, tmp_path / "worker")
    with pytest.raises(dedup.DedupError, match="run `outtake dedup rebuild` on the machine"):
        dedup.apply_list(hash_list, Clip.objects.all())

    on(settings, tmp_path / "web")
    result = CliRunner().invoke(app, ["dedup", "rebuild"])
    assert result.exit_code == 0, result.output
    assert f"hash list {hash_list.id} copied" in result.output
    store = get_store()
    stored = np.load(store.local_path(blob(hash_list, "frames.npy")))
    # The stored frames index exactly as the list's own frames did.
    assert entries(bag_index(stored)) == entries(bag_index(parse(text).frames))
    folder = tmp_path / "web" / "dedup" / "lists" / str(hash_list.id)
    assert store.get_bytes(blob(hash_list, "sha256.txt")) == (folder / "sha256.txt").read_bytes()
    again = CliRunner().invoke(app, ["dedup", "rebuild"])
    assert again.exit_code == 0 and "copied" not in again.output

    on(settings, tmp_path / "worker")  # a worker that never saw the list
    asset = upload(creator, bunny)
    [match] = ListMatch.objects.filter(hash_list=hash_list)
    assert match.clip.asset == asset and match.kind == "near"


def test_the_first_index_catch_up_copies_them_too(client, make_user, settings, tmp_path, bunny):
    lab, text = make_user("buyer"), hashes_file(bunny)
    on(settings, tmp_path / "web")
    hash_list = taken_before_lists_were_stored(client, lab, text)
    dedup._cache.clear()  # a process starting on that machine after the upgrade
    dedup.catalogue_index()
    store = get_store()
    stored = np.load(store.local_path(blob(hash_list, "frames.npy")))
    assert entries(bag_index(stored)) == entries(bag_index(parse(text).frames))
    folder = tmp_path / "web" / "dedup" / "lists" / str(hash_list.id)
    assert store.get_bytes(blob(hash_list, "sha256.txt")) == (folder / "sha256.txt").read_bytes()


def test_a_copy_held_only_here_in_the_older_layout_is_remade_from_itself(
    client, make_user, settings, tmp_path, bunny
):
    """A list taken before lists were stored, whose index here is of the layout before format
    3 (ids frame × 4): applied on that machine before anything published it, its index is
    made anew from its own entries, not refused for want of a blob."""
    lab, creator, text = make_user("buyer"), make_user("creator"), hashes_file(bunny)
    on(settings, tmp_path / "web")
    hash_list = taken_before_lists_were_stored(client, lab, text)
    folder = tmp_path / "web" / "dedup" / "lists" / str(hash_list.id) / "index"
    frames = parse(text).frames[:, :4]  # as such a list held its frames
    older = HashIndex(frames.reshape(-1, 32), np.arange(len(frames) * 4))
    older.save(folder)
    (folder / "meta.json").write_text(json.dumps({"entries": len(older), "format": 2}))
    assert dedup.apply_list(hash_list, Clip.objects.none()) == 0  # reads the list first
    assert not any(dedup._in_store(blob(hash_list, name)) for name in BLOBS)  # not published
    remade = HashIndex.load(folder)
    assert not remade.stale
    assert entries(remade) == entries(bag_index(widened(frames)))
    asset = upload(creator, bunny)
    assert ListMatch.objects.filter(hash_list=hash_list, clip__asset=asset).exists()
