"""A reanalysis remakes an asset's clips: duplicate holds on and against them move to the new
clips with their reviewers' decisions, so what is held and what is on sale stay as they were,
and an original is never held against its own copy."""

from pathlib import Path

import pytest
from django.db.models import ProtectedError

from outtake.catalog import services as catalog
from outtake.catalog.models import Asset
from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold
from outtake.market.services import available_clips
from tests.dedup.conftest import shots_of
from tests.dedup.test_flows import upload

pytestmark = pytest.mark.django_db(transaction=True)


def reanalyse(asset: Asset, path: Path, cut_s: float) -> None:
    """What a reanalysis of the asset does once its new analysis is in (catalog._make_ready):
    here the new analysis cuts the footage into two shots at cut_s."""
    frames = [f for shot in shots_of(path) for f in shot["frames"]]
    end_s = asset.clips.get().end_s
    shots = [
        {
            "index": 0,
            "start_s": 0.0,
            "end_s": cut_s,
            "dedup": [f for f in frames if f["t"] < cut_s],
        },
        {
            "index": 1,
            "start_s": cut_s,
            "end_s": end_s,
            "dedup": [f for f in frames if f["t"] >= cut_s],
        },
    ]
    analysis = {"pipeline_version": "outtake-analysis/test", "shots": shots}
    catalog._make_ready(asset, asset.probe, analysis, announce=False)


def holds() -> set[tuple]:
    """Each hold as (held asset, matched asset, status, reviewer)."""
    rows = DuplicateHold.objects.values_list(
        "clip__asset", "matched_clip__asset", "status", "decided_by"
    )
    return set(rows)


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
    reanalyse(asset, path, cut_s=2.0)

    assert holds() == held and on_sale(buyer) == sold
    # The hold follows the footage: onto each new clip of the span it was on.
    side = "matched_clip" if reanalysed == "original" else "clip"
    assert set(DuplicateHold.objects.values_list(side, flat=True)) == set(
        asset.clips.values_list("id", flat=True)
    )


def test_a_reanalysed_original_keeps_its_byte_identical_copy_held(make_user, bunny):
    first, second, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    original, copy = upload(first, bunny), upload(second, bunny)
    assert DuplicateHold.objects.get().kind == "exact"

    reanalyse(original, bunny, cut_s=2.0)

    assert holds() == {(copy.id, original.id, "pending", None)}
    assert on_sale(buyer) == {original.id}


def test_a_clip_other_clips_are_held_against_cannot_be_deleted(make_user, bunny, variant):
    original = upload(make_user("creator"), bunny)
    upload(make_user("creator"), variant(bunny, "re-encode", start_s=1, end_s=5))
    with pytest.raises(ProtectedError):
        original.clips.all().delete()
    assert DuplicateHold.objects.filter(matched_clip__asset=original).exists()
