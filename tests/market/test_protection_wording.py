"""A license states the creator protections in the words its terms snapshots pinned at the
sale, so a later change of wording never reaches licenses already sold."""

import html

import pytest

from outtake.core import terms
from outtake.core.terms import (
    ALL_PROTECTIONS,
    OPTIONAL_PROTECTIONS,
    PROTECTIONS,
    WORDING_BEFORE_PINNING,
)
from outtake.market.models import LicenseItem
from outtake.market.services import accept_quote, build_quote, create_request
from outtake.rights.services import set_terms
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db

NEW = PROTECTIONS["no_style_imitation"]
OLD = WORDING_BEFORE_PINNING["no_style_imitation"]


def page(client, lic) -> str:
    return html.unescape(client.get(f"/licenses/{lic.id}/").content.decode())


def test_the_license_page_states_the_protections_in_its_snapshots_words(client, make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"protections": {"no_digital_replica": False}})
    lic = accept_quote(buyer, build_quote(create_request(buyer, {"budget": "50"})))
    item = lic.items.get()
    assert item.terms_snapshot["terms"]["protection_texts"] == ALL_PROTECTIONS
    client.force_login(buyer)
    now = page(client, lic)
    assert NEW in now and OLD not in now
    assert f"waives the protection: “{PROTECTIONS['no_digital_replica']}”" in now

    # The same license as it was kept when sold before the wording was pinned.
    snapshot = item.terms_snapshot
    del snapshot["terms"]["protection_texts"]
    LicenseItem.objects.filter(pk=item.pk).update(terms_snapshot=snapshot)
    before = page(client, lic)
    assert OLD in before and NEW not in before


def test_a_protection_made_default_after_a_sale_is_not_stated_on_its_license(
    client, make_user, monkeypatch
):
    """The page states what each clip's snapshot pinned, not today's list of protections."""
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"protections": {"no_political": True, "no_style_imitation": False}})
    lic = accept_quote(buyer, build_quote(create_request(buyer, {"budget": "50"})))
    added = "No use in weather forecasting."
    for protections in (terms.PROTECTIONS, terms.ALL_PROTECTIONS):
        monkeypatch.setitem(protections, "no_forecasting", added)
    client.force_login(buyer)
    shown = page(client, lic)
    forbidden = shown[shown.index('id="protections"') :].split("</ul>")[0]
    assert added not in shown
    assert OPTIONAL_PROTECTIONS["no_political"] in forbidden  # turned on, so in force
    assert PROTECTIONS["no_digital_replica"] in forbidden and NEW not in forbidden
    assert f"waives the protection: “{NEW}”" in shown
