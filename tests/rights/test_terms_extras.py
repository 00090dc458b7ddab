"""Commercial terms: floor price, territory, term, refused buyers and categories, allow-list
approval, optional protections."""

from __future__ import annotations

import pytest

from outtake.core.terms import TermsError, default_terms, validate_terms
from outtake.market.models import License, Quote
from outtake.market.services import AwaitingApproval, accept_quote, build_quote, create_request
from outtake.notices.models import Notification
from outtake.rights import approvals
from outtake.rights.services import set_terms
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def quote(buyer, **data):
    data.setdefault("budget", "1000")
    return build_quote(create_request(buyer, data))


def ids(q: Quote) -> list:
    return [i.clip_id for i in q.items.all()]


def test_terms_saved_before_the_extras_still_validate():
    old = {
        "uses": {"ai_training": {"state": "allowed", "constraint": ""}},
        "protections": {"no_digital_replica": True, "no_style_imitation": False},
        "exclusive_allowed": True,
        "refused_buyers": [],
    }
    terms = validate_terms(old)
    assert terms["protections"]["no_style_imitation"] is False
    assert terms["protections"]["no_political"] is False  # optional: off unless chosen
    assert terms["territory"] == [] and terms["term_years"] is None
    assert validate_terms(default_terms()) == default_terms()
    for bad in (
        {"territory": ["Germany"]},
        {"term_years": 0},
        {"min_price_per_minute": "-1"},
        {"refused_categories": ["pets"]},
        {"protections": {"no_fun": True}},
    ):
        with pytest.raises(TermsError):
            validate_terms(bad)


def test_minimum_price_per_minute(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator, duration_s=60)  # 1080p: 1.50 a minute
    set_terms(creator, {"min_price_per_minute": "2.00"})
    q = quote(buyer)
    assert ids(q) == [] and q.excluded == {"below the creator's minimum price": 1}
    set_terms(creator, {"min_price_per_minute": "1.50"})
    assert len(ids(quote(buyer))) == 1


def test_territory_and_term(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"territory": ["de", "FR"], "term_years": 3})
    assert ids(quote(buyer)) == []  # worldwide and perpetual wanted
    assert ids(quote(buyer, territory=["DE"])) == []  # perpetual still
    assert ids(quote(buyer, territory=["DE", "US"], term_years=2)) == []
    q = quote(buyer, territory=["DE"], term_years=3)
    assert len(ids(q)) == 1
    lic = accept_quote(buyer, q)
    doc = lic.contract.document
    assert doc["territory"] == ["DE"] and doc["term_years"] == 3


def test_refused_buyer_and_category_see_none_of_the_creators_clips(make_user):
    creator, other, buyer, lab = (
        make_user("creator"),
        make_user("creator"),
        make_user("buyer"),
        make_user("buyer"),
    )
    ready_clip(creator)
    ready_clip(creator)
    theirs = ready_clip(other)
    set_terms(
        creator,
        {"refused_buyers": [str(buyer.organization_id)], "refused_categories": ["surveillance"]},
    )
    assert ids(quote(buyer)) == [theirs.id]
    lab.organization.category = "surveillance"
    lab.organization.save()
    assert ids(quote(lab)) == [theirs.id]
    lab.organization.category = "research"
    lab.organization.save()
    assert len(ids(quote(lab))) == 3


def test_allow_listed_deal_waits_for_the_creators_approval(make_user, client):
    creator, other, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    ready_clip(creator)
    ready_clip(other)
    set_terms(creator, {"approval_required": True})
    q = quote(buyer)
    assert len(ids(q)) == 2
    r = client.get(f"/api/quotes/{q.id}", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}")
    shown = {i["creator"]: i["approval"] for i in r.json()["items"]}
    assert shown == {
        creator.organization.pseudonym: "pending approval",
        other.organization.pseudonym: "not needed",
    }

    r = client.post(
        f"/api/quotes/{q.id}/accept",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert r.status_code == 202 and "waiting for 1 creator" in r.json()["detail"]
    assert not License.objects.exists()
    assert Notification.objects.filter(user=creator, kind="deal.approval_requested").exists()
    with pytest.raises(AwaitingApproval):  # asking again does not ask the creator twice
        accept_quote(buyer, q)
    [approval] = approvals.approvals_for(creator)

    with pytest.raises(PermissionError):
        approvals.decide(other, approval, approve=True)
    r = client.post(
        f"/api/approvals/{approval.id}/approve",
        HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}",
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    lic = License.objects.get(quote=q)
    assert lic.items.count() == 2 and lic.contract.accepted_by == buyer
    assert lic.contract.accepted_via == "api"


def test_refused_deal_withdraws_the_quote(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"approval_required": True})
    q = quote(buyer)
    with pytest.raises(AwaitingApproval):
        accept_quote(buyer, q)
    [approval] = approvals.approvals_for(creator)
    approvals.decide(creator, approval, approve=False)
    assert Quote.objects.get(pk=q.pk).status == "withdrawn"
    assert Notification.objects.filter(user=buyer, kind="deal.refused").exists()
    assert not License.objects.exists()


def test_optional_protections_become_prohibitions(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"protections": {"no_political": True}})
    lic = accept_quote(buyer, quote(buyer))
    from outtake.rights.contracts import odrl_policy

    prohibited = {p["dct:identifier"] for p in odrl_policy(lic.contract)["prohibition"]}
    assert "no_political" in prohibited and "no_adult" not in prohibited
