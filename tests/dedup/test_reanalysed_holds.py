"""A reanalysis remakes an asset's clips: duplicate holds on and against them move to the new
clips with their reviewers' decisions, so what is held and what is on sale stay as they were,
and an original is never held against its own copy."""

from collections import Counter
from pathlib import Path

import pytest
from django.db.models import ProtectedError

from outtake.audit.models import AuditEvent
from outtake.catalog import services as catalog
from outtake.catalog.models import Asset
from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold
from outtake.market.services import available_clips
from outtake.notices.models import Notification
from outtake.storage import get_store
from tests.dedup.conftest import shots_of
from tests.dedup.test_flows import upload

pytestmark = pytest.mark.django_db(transaction=True)


def reanalyse(asset: Asset, path: Path, cuts: tuple[float, ...]) -> None:
    """What a reanalysis of the asset does once its new analysis is in (catalog._make_ready):
    here the new analysis cuts the footage into shots at the cuts (none: one shot)."""
    frames = [f for shot in shots_of(path) for f in shot["frames"]]
    end_s = asset.clips.last().end_s
    starts, ends = [0.0, *cuts], [*cuts, None]
    shots = [
        {
            "index": n,
            "start_s": start,
            "end_s": end_s if end is None else end,
            "dedup": [f for f in frames if f["t"] >= start and (end is None or f["t"] < end)],
        }
        for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]
    analysis = {"pipeline_version": "outtake-analysis/test", "shots": shots}
    catalog._make_ready(asset, asset.probe, analysis, announce=False)


def holds() -> Counter:
    """Each hold as (held asset, matched asset, status, reviewer), counted: a copy held twice
    for one pair is a defect a set would hide."""
    rows = DuplicateHold.objects.values_list(
        "clip__asset", "matched_clip__asset", "status", "decided_by"
    )
    return Counter(rows)


def on_sale(buyer) -> set:
    return {clip.asset_id for clip in available_clips(buyer.organization)}


@pytest.mark.parametrize("reanalysed", ["original", "copy"])
@pytest.mark.parametrize(
    ("decision", "for_sale"),
    [
        ("pending", {"original"}),
        ("duplicate", {"original"}),
        ("different", {"original", "copy"}),
        ("better_copy", {"copy"}),  # the same creator's better copy replaces the original
    ],
)
def test_a_reanalysis_keeps_what_is_held_and_on_sale_as_reviewers_decided(
    make_user, bunny, variant, decision, for_sale, reanalysed
):
    first, reviewer, buyer = make_user("creator"), make_user("reviewer"), make_user("buyer")
    second = first if decision == "better_copy" else make_user("creator")
    copy_path = variant(bunny, "re-encode", start_s=1, end_s=5)
    original, copy = upload(first, bunny), upload(second, copy_path)
    hold = DuplicateHold.objects.get()
    assert (hold.clip.asset, hold.matched_clip.asset) == (copy, original)
    if decision != "pending":
        dedup.decide(hold, reviewer, decision)
    held, sold = holds(), on_sale(buyer)
    assert sold == {{"original": original.id, "copy": copy.id}[name] for name in for_sale}

    asset, path = (original, bunny) if reanalysed == "original" else (copy, copy_path)
    reanalyse(asset, path, cuts=(2.0,))

    assert on_sale(buyer) == sold
    # The hold follows the footage: each piece of a held copy is held, each piece of an
    # original a better copy replaced is replaced.
    if reanalysed == "copy" or decision == "better_copy":
        side = "clip" if reanalysed == "copy" else "matched_clip"
        assert holds() == Counter({row: 2 * n for row, n in held.items()})
        assert sorted(DuplicateHold.objects.values_list(side, flat=True)) == sorted(
            asset.clips.values_list("id", flat=True)
        )
    # Otherwise the copy of an original cut in two is still held once (one decision): against
    # the piece with the most of the clip it was held against.
    else:
        assert holds() == held
        longest = max(original.clips.all(), key=lambda clip: clip.end_s - clip.start_s)
        assert DuplicateHold.objects.get().matched_clip == longest


def test_one_decision_releases_a_copy_held_against_an_original_cut_in_two(
    make_user, bunny, variant
):
    first, second = make_user("creator"), make_user("creator")
    reviewer, buyer = make_user("reviewer"), make_user("buyer")
    copy_path = variant(bunny, "re-encode", start_s=1, end_s=5)
    original, copy = upload(first, bunny), upload(second, copy_path)
    reanalyse(original, bunny, cuts=(2.0,))
    (hold,) = dedup.pending_holds()

    dedup.decide(hold, reviewer, "different")

    assert on_sale(buyer) == {original.id, copy.id}


def copy_cut_in_two(make_user, bunny, variant, *, same_creator: bool = False):
    """An original and its copy held against it, the copy then cut in two by a reanalysis:
    each piece held on its own (the assets, the copy's path, the two holds by piece)."""
    first = make_user("creator")
    second = first if same_creator else make_user("creator")
    copy_path = variant(bunny, "re-encode", start_s=1, end_s=5)
    original, copy = upload(first, bunny), upload(second, copy_path)
    reanalyse(copy, copy_path, cuts=(2.0,))
    pieces = list(DuplicateHold.objects.order_by("clip__index"))
    assert len(pieces) == 2
    return original, copy, copy_path, pieces


@pytest.mark.parametrize("decided", [0, 1])
def test_a_copy_joined_from_a_released_and_an_undecided_piece_stays_held(
    make_user, bunny, variant, decided
):
    reviewer, buyer = make_user("reviewer"), make_user("buyer")
    original, copy, copy_path, pieces = copy_cut_in_two(make_user, bunny, variant)
    dedup.decide(pieces[decided], reviewer, "different")  # the other is still pending

    reanalyse(copy, copy_path, cuts=())

    # No reviewer decided the undecided piece's footage: the joined clip waits for one.
    assert holds() == Counter({(copy.id, original.id, "pending", None): 1})
    assert on_sale(buyer) == {original.id}
    (event,) = AuditEvent.objects.filter(kind="dedup.hold_carried", data__dropped="different")
    assert event.subject_id == str(DuplicateHold.objects.get().pk)
    assert event.data["rule"] == "more_restrictive"


@pytest.mark.parametrize("held", [0, 1])
def test_a_copy_joined_from_a_held_and_a_released_piece_stays_held(make_user, bunny, variant, held):
    reviewer, buyer = make_user("reviewer"), make_user("buyer")
    original, copy, copy_path, pieces = copy_cut_in_two(make_user, bunny, variant)
    dedup.decide(pieces[held], reviewer, "duplicate")
    dedup.decide(pieces[1 - held], reviewer, "different")
    assert on_sale(buyer) == {original.id, copy.id}  # the released piece

    reanalyse(copy, copy_path, cuts=())

    # Whichever piece the joined clip's hold was carried from first, footage a reviewer held
    # does not go on sale inside a clip no reviewer released.
    assert holds() == Counter({(copy.id, original.id, "duplicate", reviewer.id): 1})
    assert on_sale(buyer) == {original.id}
    (event,) = AuditEvent.objects.filter(kind="dedup.hold_carried", data__dropped="different")
    assert event.data["kept"] == "duplicate" and event.data["rule"] == "more_restrictive"
    assert sorted(event.data["joined"]) == ["different", "duplicate"]


@pytest.mark.parametrize("other", ["duplicate", "pending"])
@pytest.mark.parametrize("better", [0, 1])
def test_a_better_copy_joined_to_a_held_piece_is_decided_again(
    make_user, bunny, variant, better, other
):
    reviewer, buyer = make_user("reviewer"), make_user("buyer")
    original, copy, copy_path, pieces = copy_cut_in_two(
        make_user, bunny, variant, same_creator=True
    )
    dedup.decide(pieces[better], reviewer, "better_copy")
    if other != "pending":
        dedup.decide(pieces[1 - better], reviewer, other)
    assert on_sale(buyer) == {copy.id}  # the better piece, in place of the original

    reanalyse(copy, copy_path, cuts=())

    # Neither decision holds for the joined clip: it is held (the original back on sale in
    # its place, so the footage is on sale once) until a reviewer decides it.
    assert holds() == Counter({(copy.id, original.id, "pending", None): 1})
    assert on_sale(buyer) == {original.id}
    (hold,) = dedup.pending_holds()
    (event,) = AuditEvent.objects.filter(kind="dedup.hold_carried", data__kept="pending")
    assert event.subject_id == str(hold.pk) and event.data["rule"] == "back_to_pending"
    assert sorted(event.data["joined"]) == sorted(["better_copy", other])
    (notice,) = Notification.objects.filter(user=reviewer, kind="dedup.decide_again")
    assert notice.url == "/review/duplicates/"


def stored(key: str) -> bool:
    try:
        get_store().size(key)
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize("shared", [True, False])
def test_a_dropped_hold_takes_its_own_frame_pictures_along(make_user, bunny, variant, shared):
    _, copy, copy_path, pieces = copy_cut_in_two(make_user, bunny, variant)
    # A hold carried to two pieces shares its pictures; each hold made on its own has its own.
    keys = set()
    for hold in pieces:
        owner = pieces[0].pk if shared else hold.pk
        frame = {"new_t": 1.0, "old_t": 2.0, "bits": 3}
        for side in ("new", "old"):
            frame[side] = f"holds/{owner}/0-{side}.jpg"
            get_store().put_bytes(frame[side], b"jpeg")
            keys.add(frame[side])
        DuplicateHold.objects.filter(pk=hold.pk).update(frames=[frame])

    reanalyse(copy, copy_path, cuts=())

    kept = {f[side] for f in DuplicateHold.objects.get().frames for side in ("new", "old")}
    assert len(kept) == 2 and all(stored(key) for key in kept)
    assert not any(stored(key) for key in keys - kept)
    assert len(keys - kept) == (0 if shared else 2)


def test_an_original_cut_in_two_and_joined_again_keeps_its_copy_held_once(
    make_user, bunny, variant
):
    first, second, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    copy_path = variant(bunny, "re-encode", start_s=1, end_s=5)
    original, copy = upload(first, bunny), upload(second, copy_path)
    reanalyse(original, bunny, cuts=(2.0,))
    reanalyse(original, bunny, cuts=())

    assert holds() == Counter({(copy.id, original.id, "pending", None): 1})
    assert DuplicateHold.objects.get().matched_clip == original.clips.get()
    assert on_sale(buyer) == {original.id}


def test_a_reanalysed_original_keeps_its_byte_identical_copy_held(make_user, bunny):
    first, second, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    original, copy = upload(first, bunny), upload(second, bunny)
    assert DuplicateHold.objects.get().kind == "exact"

    reanalyse(original, bunny, cuts=(2.0,))

    assert holds() == Counter({(copy.id, original.id, "pending", None): 1})
    assert on_sale(buyer) == {original.id}


def test_a_clip_other_clips_are_held_against_cannot_be_deleted(make_user, bunny, variant):
    original = upload(make_user("creator"), bunny)
    upload(make_user("creator"), variant(bunny, "re-encode", start_s=1, end_s=5))
    with pytest.raises(ProtectedError):
        original.clips.all().delete()
    assert DuplicateHold.objects.filter(matched_clip__asset=original).exists()
