"""A decided claim or removal request cannot be undone or rewritten in the admin, and an upheld
one keeps its clips out of sale through its revocation."""

from __future__ import annotations

import pytest

from outtake.market.services import available_clips
from outtake.rights import claims
from outtake.rights.models import RemovalRequest, RightsClaim
from outtake.rights.sellability import CLAIMED, REMOVAL_ASKED, sale_problem
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db
REASON = "I am the person at 0:12 and did not consent."
GROUNDS = "I shot this footage in 2019 for my own channel; it was copied from my drive."


@pytest.fixture
def people(make_user):
    return make_user("creator"), make_user("buyer"), make_user("reviewer")


def _removal(clip, reviewer, upheld: bool | None) -> RemovalRequest:
    removal = claims.request_removal(
        clip.asset_id, email="pat@example.net", reason=REASON, clip_id=clip.id
    )
    if upheld is not None:
        claims.resolve_removal(reviewer, removal, upheld=upheld, note="The person is identifiable.")
    return removal


def _claim(clip, reviewer, upheld: bool | None) -> RightsClaim:
    claim = claims.file_claim(clip.asset_id, name="Sam", email="sam@example.net", grounds=GROUNDS)
    if upheld is not None:
        claims.resolve_claim(reviewer, claim, upheld=upheld, note="The claimant showed the raws.")
    return claim


@pytest.mark.parametrize(
    ("make", "url"),
    [(_removal, "/admin/rights/removalrequest/"), (_claim, "/admin/rights/rightsclaim/")],
)
@pytest.mark.parametrize("upheld", [None, True])
def test_the_admin_cannot_delete_a_claim_or_removal_request(client, people, make, url, upheld):
    creator, buyer, reviewer = people
    clip = ready_clip(creator)
    held = make(clip, reviewer, upheld)
    client.force_login(reviewer)

    assert client.post(f"{url}{held.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(url, {"action": "delete_selected", "_selected_action": [held.pk], "post": "yes"})
    assert type(held).objects.filter(pk=held.pk).exists()
    assert not available_clips(buyer.organization).exists()


def test_an_upheld_removal_or_claim_holds_through_its_revocation(people):
    creator, buyer, reviewer = people
    removed, claimed = ready_clip(creator), ready_clip(creator)
    _removal(removed, reviewer, upheld=True)
    _claim(claimed, reviewer, upheld=True)

    # Even with the request rows gone (a shell, a bulk delete), the decisions stand.
    RemovalRequest.objects.all().delete()
    RightsClaim.objects.all().delete()
    assert sale_problem(removed) == REMOVAL_ASKED
    assert sale_problem(claimed) == CLAIMED
    assert not available_clips(buyer.organization).exists()


def test_a_removal_requests_resolution_is_fixed_once_decided(client, people):
    creator, _, reviewer = people
    removal = _removal(ready_clip(creator), reviewer, upheld=None)
    client.force_login(reviewer)
    url = f"/admin/rights/removalrequest/{removal.pk}/change/"

    # While open, the reviewer writes the resolution the requester will be told.
    assert client.post(url, {"resolution": "Nobody is shown at 0:12."}).status_code == 302
    removal.refresh_from_db()
    assert removal.resolution == "Nobody is shown at 0:12."

    claims.resolve_removal(reviewer, removal, upheld=True, note="The person is identifiable.")
    assert 'name="resolution"' not in client.get(url).content.decode()
    client.post(url, {"resolution": "Something else entirely."})
    removal.refresh_from_db()
    assert removal.resolution == "The person is identifiable."
