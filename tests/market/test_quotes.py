from datetime import timedelta

import pytest
from django.utils import timezone

from outtake.catalog.models import Clip
from outtake.market.models import Quote
from outtake.market.services import (
    MarketError,
    accept_quote,
    available_clips,
    build_quote,
    create_request,
)
from outtake.rights.services import set_terms
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def quote(buyer, **data):
    data.setdefault("budget", "1000")
    return build_quote(create_request(buyer, data))


def ids(q: Quote) -> list:
    return [i.clip_id for i in q.items.all()]


def test_best_quality_first_until_minutes_reached(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    sd = ready_clip(creator, width=640, height=360, duration_s=60)
    uhd = ready_clip(creator, width=3840, height=2160, duration_s=60)
    hd = ready_clip(creator, width=1920, height=1080, duration_s=60)
    q = quote(buyer, minutes_wanted="2")
    assert ids(q) == [uhd.id, hd.id]
    assert q.total_minor == 300 + 150
    assert q.excluded == {"minutes reached": 1}
    assert "Best quality first" in q.rule
    assert sd.id not in ids(q)


def test_filters_and_budget(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    drone = ready_clip(creator, width=1920, height=1080, duration_s=60, tags=["drone"])
    ready_clip(creator, width=1920, height=1080, duration_s=60)
    ready_clip(creator, width=640, height=360, duration_s=60, tags=["drone"])
    q = quote(buyer, tags_required=["drone"], min_tier="720p")
    assert ids(q) == [drone.id]
    q = quote(buyer, budget="1.00")  # each 1080p minute costs 1.50, the SD drone one 1.50 too
    assert ids(q) == [] and q.excluded["over budget"] == 3


def test_creator_share_cap(make_user):
    a, b, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    a1, a2 = ready_clip(a, duration_s=60), ready_clip(a, duration_s=60)
    b1 = ready_clip(b, duration_s=30)
    q = quote(buyer, minutes_wanted="2", max_creator_share="0.5")
    assert set(ids(q)) == {b1.id} | ({a1.id, a2.id} & set(ids(q)))
    assert len({i.creator_id for i in q.items.all()}) == 2
    assert q.excluded.get("creator share cap") == 1


def test_refused_buyer_and_uses(make_user):
    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    ready_clip(creator)
    set_terms(
        creator,
        {
            "refused_buyers": [str(buyer.organization_id)],
            "uses": {"ai_generative_training": "not_allowed"},
        },
    )
    assert ids(quote(buyer)) == []
    assert len(ids(quote(other))) == 1
    assert ids(quote(other, uses_needed=["ai_generative_training"])) == []


def test_expired_quote_cannot_be_accepted(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    q = quote(buyer)
    Quote.objects.filter(pk=q.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(MarketError, match="expired"):
        accept_quote(buyer, q)
    assert Quote.objects.get(pk=q.pk).status == "expired"


def test_terms_changed_since_quote_means_requote(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    q = quote(buyer)
    set_terms(creator, {"exclusive_allowed": False})
    with pytest.raises(MarketError, match="terms"):
        accept_quote(buyer, q)


def test_license_pins_terms_snapshot(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(
        creator, {"uses": {"fine_tuning": {"state": "constrained", "constraint": "no faces"}}}
    )
    lic = accept_quote(buyer, quote(buyer))
    set_terms(creator, {"uses": {"fine_tuning": "not_allowed"}})
    item = lic.items.get()
    assert item.terms_snapshot["terms"]["uses"]["fine_tuning"]["constraint"] == "no faces"
    assert item.terms_snapshot["terms_version"] == 1


def test_exclusive_first_accepted_wins(make_user):
    creator, lab1, lab2 = make_user("creator"), make_user("buyer"), make_user("buyer")
    clip = ready_clip(creator, duration_s=60)
    q1, q2 = quote(lab1, exclusive=True), quote(lab2, exclusive=True)
    assert ids(q1) == ids(q2) == [clip.id]
    assert q1.total_minor == 2 * 150
    accept_quote(lab1, q1)
    with pytest.raises(MarketError, match="no longer available"):
        accept_quote(lab2, q2)
    assert not available_clips(lab2.organization).filter(pk=clip.pk).exists()


def test_sold_clips_cannot_be_sold_exclusively(make_user):
    creator, lab1, lab2 = make_user("creator"), make_user("buyer"), make_user("buyer")
    ready_clip(creator)
    accept_quote(lab1, quote(lab1))
    assert ids(quote(lab2, exclusive=True)) == []
    assert len(ids(quote(lab2))) == 1


def test_only_buyers_request_and_only_own_quotes(make_user):
    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    ready_clip(creator)
    with pytest.raises(PermissionError):
        create_request(creator, {"budget": "10"})
    with pytest.raises(PermissionError):
        accept_quote(other, quote(buyer))
    assert Clip.objects.count() == 1


def test_a_request_can_ask_for_a_release_for_every_person_shown(make_user, client):
    from outtake.rights.models import Release

    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    Clip.objects.filter(pk=clip.pk).update(people={"identifiable": 0, "incidental": 2})
    assert ids(quote(buyer)) == [clip.id]  # people in passing need no release by default
    strict = client.post(
        "/api/requests",
        {"budget": "1000", "releases_for_everyone": True},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert strict.status_code == 201, strict.content
    assert strict.json()["clip_count"] == 0
    assert strict.json()["excluded"] == {
        "a person shown has no model release (the request asks for everyone's)": 1
    }
    for n in range(2):
        Release.objects.create(
            asset=clip.asset,
            person=f"passer-by {n}",
            method=Release.Method.UPLOADED,
            token=f"t{n}",
            signed_at=timezone.now(),
            created_by=creator,
        )
    assert ids(quote(buyer, releases_for_everyone=True)) == [clip.id]


def test_each_condition_is_accepted_by_its_id_after_reading_it(make_user, client):
    from outtake.audit.models import AuditEvent
    from outtake.core.terms import clause_id
    from outtake.market.models import License
    from outtake.rights.contracts import document_from

    faces, military, plain = make_user("creator"), make_user("creator"), make_user("creator")
    buyer = make_user("buyer")
    no_faces = ready_clip(faces, width=3840, height=2160)
    ready_clip(military)
    free = ready_clip(plain, width=1280, height=720)
    for who, text in ((faces, "no faces"), (military, "no military use")):
        set_terms(who, {"uses": {"fine_tuning": {"state": "constrained", "constraint": text}}})
    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    q = client.post(
        "/api/requests",
        {"budget": "1000", "uses_needed": ["ai_training", "fine_tuning"]},
        content_type="application/json",
        **auth,
    ).json()
    # The quote lists each distinct condition with its text; nothing is accepted yet.
    assert q["clip_count"] == 3
    assert {(c["id"], c["text"], c["accepted"]) for c in q["clauses"]} == {
        (clause_id("fine_tuning", "no faces"), "no faces", False),
        (clause_id("fine_tuning", "no military use"), "no military use", False),
    }
    item = next(i for i in q["items"] if i["clip_id"] == str(no_faces.id))
    assert item["clauses"] == [clause_id("fine_tuning", "no faces")]
    url = f"/api/quotes/{q['id']}/accept"

    r = client.post(url, {"accepted_clauses": ["0" * 16]}, content_type="application/json", **auth)
    assert r.status_code == 400 and "not a condition of this quote" in r.json()["detail"]
    r = client.post(
        url,
        {"accepted_clauses": [clause_id("fine_tuning", "no faces")]},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201, r.content
    lic = License.objects.get(pk=r.json()["id"])
    assert {i.clip for i in lic.items.all()} == {no_faces, free}
    assert r.json()["accepted_clauses"] == [
        {"id": clause_id("fine_tuning", "no faces"), "use": "fine_tuning", "text": "no faces"}
    ]
    assert lic.total_minor == no_faces.price_minor + free.price_minor
    quoted = client.get(f"/api/quotes/{q['id']}", **auth).json()
    assert quoted["excluded"] == {"Fine-tuning: the creator's condition not accepted": 1}
    # The contract's statement that each condition was accepted explicitly is true.
    clauses = document_from(lic.contract.document).constraint_clauses()
    assert [(c.text, c.accepted) for c in clauses] == [("no faces", True)]
    event = AuditEvent.objects.get(kind="quote.conditions_accepted")
    assert event.data["accepted"][0]["text"] == "no faces"


def test_a_quote_whose_every_clip_is_under_a_declined_condition_is_not_accepted(make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    ready_clip(creator)
    set_terms(creator, {"uses": {"ai_training": {"state": "constrained", "constraint": "no ads"}}})
    q = quote(buyer)
    assert q.clip_count == 1  # quoted with its condition, to accept or not
    with pytest.raises(MarketError, match="every clip of this quote is under a condition"):
        accept_quote(buyer, q)
    assert Quote.objects.get(pk=q.pk).clip_count == 1  # nothing was taken out
