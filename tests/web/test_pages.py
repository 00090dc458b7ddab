"""The web pages with Django's test client: who may see what, and that forms drive services."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from outtake.accounts.models import ApiToken, User
from outtake.accounts.services import attest_upload
from outtake.audit.models import AuditEvent
from outtake.catalog.models import Asset, Clip
from outtake.catalog.services import reprice
from outtake.delivery.models import Delivery
from outtake.ledger.models import Invoice
from outtake.market import services as market
from outtake.market.models import License
from outtake.notices.models import Notification
from outtake.notices.services import notify
from outtake.rights.models import TermsVersion
from outtake.storage import get_store

PASSWORD = "correct horse battery"
CREATOR_PAGES = ["/footage/", "/terms/", "/earnings/"]
BUYER_PAGES = ["/catalogue/", "/requests/", "/requests/new/", "/licenses/"]
SHARED_PAGES = ["/account/", "/inbox/"]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def make_asset(
    user: User, *, width: int = 1920, height: int = 1080, duration: float = 60.0
) -> Asset:
    """A ready asset with one priced clip, attested, without running media analysis."""
    asset = Asset.objects.create(
        owner=user.organization,
        uploaded_by=user,
        original_filename="private-name.mp4",
        blob_key="originals/test.mp4",
        kind="video",
        status=Asset.Status.READY,
        sha256="ab" * 32,
        thumbnail_key="thumbs/test.jpg",
        probe={
            "kind": "video",
            "width": width,
            "height": height,
            "duration_s": duration,
            "fps": 25.0,
            "video_codec": "h264",
            "has_audio": False,
            "camera_serial": "SN-SECRET",
        },
    )
    clip = Clip.objects.create(
        asset=asset,
        index=0,
        kind="video",
        start_s=0.0,
        end_s=duration,
        width=width,
        height=height,
        fps=25.0,
    )
    reprice(clip)
    attest_upload(user, asset)
    return asset


@pytest.fixture
def creator(make_user):
    return make_user("creator")


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", org_name="Frontier Lab")


def logged_in(client, user):
    client.force_login(user)
    return client


# Public pages, sign-up, login


def test_public_pages_render(client):
    for url in ["/", "/rates/", "/login/", "/signup/"]:
        assert client.get(url).status_code == 200, url


def test_rate_card_shows_the_published_rates(client):
    page = text(client.get("/rates/"))
    assert "Creators keep 85 %" in page
    for rate in ["0.50 USD", "1.00 USD", "1.50 USD", "3.00 USD", "+0.25 USD", "+0.50 USD"]:
        assert rate in page
    assert "Drone / aerial" in page and "×2" in page
    assert "Photo, 20 MP or more" in page and "0.05 USD" in page
    assert "10.00 USD" in page  # payout minimum


def test_creator_signup_needs_the_ownership_attestation(client, db):
    data = {
        "role": "creator",
        "organization": "Ana Films",
        "email": "ana@example.org",
        "password": PASSWORD,
    }
    response = client.post("/signup/", data)
    assert response.status_code == 200
    assert "Creators must confirm they own the rights" in text(response)
    assert not User.objects.filter(email="ana@example.org").exists()

    response = client.post("/signup/", {**data, "owns_rights": "on"})
    assert response.status_code == 302 and response.url == "/footage/"
    user = User.objects.get(email="ana@example.org")
    assert user.is_creator and user.organization.name == "Ana Films"
    assert AuditEvent.objects.filter(kind="account.ownership_attested", actor=user).exists()
    assert client.get("/footage/").status_code == 200


def test_buyer_signup_lands_on_the_catalogue(client, db):
    response = client.post(
        "/signup/",
        {"role": "buyer", "organization": "Lab", "email": "lab@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302 and response.url == "/catalogue/"


def test_signup_shows_service_errors(client, creator):
    response = client.post(
        "/signup/", {"role": "buyer", "email": creator.email, "password": PASSWORD}
    )
    assert "an account with this e-mail already exists" in text(response)
    response = client.post(
        "/signup/", {"role": "buyer", "email": "new@example.org", "password": "short"}
    )
    assert "too short" in text(response)


def test_login_wrong_password_then_right_then_logout(client, creator):
    response = client.post("/login/", {"email": creator.email, "password": "wrong password"})
    assert response.status_code == 200
    assert "e-mail or password is wrong" in text(response)

    response = client.post("/login/", {"email": creator.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/footage/"
    assert client.get("/footage/").status_code == 200

    assert client.get("/logout/").status_code == 405  # logging out is a POST
    assert client.post("/logout/").status_code == 302
    assert client.get("/footage/").status_code == 302


def test_login_follows_a_local_next_only(client, buyer):
    data = {"email": buyer.email, "password": PASSWORD}
    assert client.post("/login/", {**data, "next": "/licenses/"}).url == "/licenses/"
    client.post("/logout/")
    assert client.post("/login/", {**data, "next": "https://evil.example/"}).url == "/catalogue/"


def test_login_is_rate_limited(client, creator, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/login/", {"email": creator.email, "password": "wrong password"})
    response = client.post("/login/", {"email": creator.email, "password": PASSWORD})
    assert "too many failed attempts" in text(response)


# Who may open which page


def test_anonymous_visitors_are_sent_to_login(client, db):
    for url in CREATOR_PAGES + BUYER_PAGES + SHARED_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/?next="), url


def test_creator_pages_are_for_creators(client, creator, buyer):
    logged_in(client, creator)
    for url in CREATOR_PAGES + SHARED_PAGES:
        assert client.get(url).status_code == 200, url
    for url in BUYER_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "This page is for buyers." in text(response)


def test_buyer_pages_are_for_buyers(client, buyer):
    logged_in(client, buyer)
    for url in BUYER_PAGES + SHARED_PAGES:
        assert client.get(url).status_code == 200, url
    for url in CREATOR_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "This page is for creators." in text(response)


def test_reviewer_nav_links_to_the_admin(client, make_user):
    logged_in(client, make_user("reviewer"))
    page = text(client.get("/account/"))
    assert 'href="/admin/">Review</a>' in page
    assert client.get("/footage/").status_code == 403


def test_nav_shows_the_unread_count(client, creator):
    notify([creator], "test", "Hello")
    notify([creator], "test", "Again")
    page = text(logged_in(client, creator).get("/account/"))
    assert re.search(r'id="unread-count" class="badge">2<', page)


# Creator pages


def test_footage_lists_assets_and_reuses_one_upload_token_per_session(client, creator):
    asset = make_asset(creator)
    Asset.objects.create(
        owner=creator.organization,
        uploaded_by=creator,
        original_filename="new.mov",
        blob_key="originals/new.mov",
    )
    logged_in(client, creator)
    page = text(client.get("/footage/"))
    assert "private-name.mp4" in page and "new.mov" in page
    assert f"/thumbs/{asset.id}.jpg" in page
    assert "every 3s" in page  # polls while one is processing
    assert "1.50 USD" in page  # one minute of 1080p
    token = re.search(r'data-token="(ot_[^"]+)"', page)[1]
    client.get("/footage/")
    tokens = ApiToken.objects.filter(user=creator, name="browser upload")
    assert tokens.count() == 1 and tokens[0].scopes == ["upload"]
    assert token in text(client.get("/footage/"))

    client.post("/logout/")
    tokens[0].refresh_from_db()
    assert tokens[0].revoked_at is not None


def test_assets_partial_stops_polling_when_nothing_processes(client, creator):
    make_asset(creator)
    page = text(logged_in(client, creator).get("/footage/assets/"))
    assert 'id="assets"' in page and "every 3s" not in page and "<html" not in page


def test_rejected_asset_shows_its_reason(client, creator):
    Asset.objects.create(
        owner=creator.organization,
        uploaded_by=creator,
        original_filename="broken.mp4",
        blob_key="originals/b.mp4",
        status=Asset.Status.REJECTED,
        status_reason="the file is damaged",
    )
    page = text(logged_in(client, creator).get("/footage/"))
    assert "Rejected" in page and "the file is damaged" in page


def test_asset_page_is_only_for_its_creator(client, creator, make_user, buyer):
    asset = make_asset(creator)
    page = text(logged_in(client, creator).get(f"/assets/{asset.id}/"))
    assert "1080p, 1.00 min × 1.50/min" in page
    assert "SN-SECRET" in page  # the creator sees all facts of their own file
    logged_in(client, make_user("creator"))
    assert client.get(f"/assets/{asset.id}/").status_code == 404
    logged_in(client, buyer)
    assert client.get(f"/assets/{asset.id}/").status_code == 403


def test_creator_tags_reprice_the_asset(client, creator):
    asset = make_asset(creator)
    logged_in(client, creator)
    response = client.post(
        f"/assets/{asset.id}/tags/", {"suggested": ["drone"], "other": "Sunset, coast"}
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.creator_tags == ["coast", "drone", "sunset"]
    assert asset.clips.get().price_minor == 250  # 1.50 + 1.00 drone premium
    page = text(client.get(response.url))
    assert "Drone / aerial +1.00/min" in page

    client.post(f"/assets/{asset.id}/tags/", {"other": "no spaces!"})
    page = text(client.get(f"/assets/{asset.id}/"))
    assert "tags may use letters" in page


def terms_post(**changes: str) -> dict:
    data = {
        f"use_{code}": "allowed"
        for code in [
            "ai_training",
            "ai_generative_training",
            "data_mining",
            "ai_inference",
            "fine_tuning",
            "evaluation_only",
        ]
    }
    data.update(
        {
            "protect_no_digital_replica": "on",
            "protect_no_style_imitation": "on",
            "protect_no_reputational_harm": "on",
            "exclusive_allowed": "on",
        }
    )
    data.update(changes)
    return data


def test_terms_form_saves_versions(client, creator):
    logged_in(client, creator)
    page = text(client.get("/terms/"))
    assert "Outtake’s defaults (not saved yet)" in page
    assert len(re.findall(r'value="allowed"[^>]* checked>', page)) == 6

    response = client.post("/terms/", terms_post(use_fine_tuning="constrained"))
    assert response.status_code == 200
    assert "Write the constraint buyers must accept." in text(response)
    assert not TermsVersion.objects.exists()

    response = client.post(
        "/terms/",
        terms_post(
            use_fine_tuning="constrained",
            constraint_fine_tuning="research only",
            use_ai_inference="not_allowed",
        ),
    )
    assert response.status_code == 302
    client.post("/terms/", terms_post(exclusive_allowed=""))
    versions = TermsVersion.objects.filter(organization=creator.organization)
    assert [v.version for v in versions] == [2, 1]
    first = versions.get(version=1).terms
    assert first["uses"]["fine_tuning"] == {"state": "constrained", "constraint": "research only"}
    assert first["uses"]["ai_inference"]["state"] == "not_allowed"
    assert versions.get(version=2).terms["exclusive_allowed"] is False
    page = text(client.get("/terms/"))
    assert "Version 2" in page and "Version 1" in page
    assert "Fine-tuning: constrained" in page and "no exclusive licenses" in page


def test_asset_terms_override(client, creator):
    asset = make_asset(creator)
    logged_in(client, creator)
    response = client.post(
        f"/assets/{asset.id}/terms/", terms_post(use_ai_generative_training="not_allowed")
    )
    assert response.status_code == 302
    version = TermsVersion.objects.get(asset=asset)
    assert version.terms["uses"]["ai_generative_training"]["state"] == "not_allowed"
    assert "This asset has its own terms, version 1" in text(client.get(response.url))

    client.post(f"/assets/{asset.id}/terms/", terms_post(use_data_mining="constrained"))
    assert "Write the constraint" in text(client.get(f"/assets/{asset.id}/"))


def test_earnings_page(client, creator):
    page = text(logged_in(client, creator).get("/earnings/"))
    assert "85 %" in page and "0.00 USD" in page and "No sales yet" in page


# Account and inbox


def test_account_tokens_create_once_and_revoke_with_htmx(client, creator):
    logged_in(client, creator)
    response = client.post("/account/", {"name": "NAS sync", "scopes": ["upload"]})
    raw = re.search(r'id="new-token">(ot_[^<]+)<', text(response))[1]
    token = ApiToken.objects.get(user=creator, name="NAS sync")
    assert token.scopes == ["upload"]
    assert raw not in text(client.get("/account/"))  # shown once only

    response = client.post("/account/", {"name": "x", "scopes": ["buy"]})
    assert "Select a valid choice" in text(response)  # creators cannot hold "buy"

    response = client.post(f"/account/tokens/{token.id}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'<tr id="token-{token.id}">' in text(response) and "revoked" in text(response)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, creator, buyer):
    other = ApiToken.objects.get(user=buyer)
    response = logged_in(client, creator).post(f"/account/tokens/{other.id}/revoke/")
    assert response.status_code == 404


def test_inbox_lists_and_marks_read(client, creator, buyer):
    (first,) = notify([creator], "asset.ready", "clip.mp4 is ready", "Valued at 1.50", "/assets/x/")
    notify([creator], "earnings", "You earned 1.27 USD")
    notify([buyer], "quote.accepted", "Not for the creator")
    logged_in(client, creator)
    page = text(client.get("/inbox/"))
    assert "clip.mp4 is ready" in page and "You earned 1.27 USD" in page
    assert "Not for the creator" not in page

    response = client.post("/inbox/read/", {"id": first.id}, HTTP_HX_REQUEST="true")
    assert 'hx-swap-oob="true"' in text(response)
    assert Notification.objects.filter(user=creator, read_at__isnull=True).count() == 1
    client.post("/inbox/read/")
    assert not Notification.objects.filter(user=creator, read_at__isnull=True).exists()


# Buyer pages


def test_catalogue_shows_public_facts_only(client, creator, buyer):
    asset = make_asset(creator)
    page = text(logged_in(client, buyer).get("/catalogue/"))
    assert f"/thumbs/{asset.id}.jpg" in page
    assert creator.organization.pseudonym in page and "1.50 USD" in page
    for private in ["private-name.mp4", "SN-SECRET", creator.organization.name, "originals/"]:
        assert private not in page


def request_post(**changes: str) -> dict:
    data = {
        "title": "Aerial set",
        "media_type": "video",
        "min_tier": "sd",
        "min_fps": "0",
        "min_clip_seconds": "0",
        "minutes_wanted": "10",
        "photos_wanted": "0",
        "budget": "100",
        "uses_needed": ["ai_training"],
        "max_creator_share": "100",
    }
    data.update(changes)
    return data


def test_request_quote_accept_license(client, creator, buyer):
    make_asset(creator)
    logged_in(client, buyer)
    response = client.post("/requests/new/", request_post())
    assert response.status_code == 302 and response.url.startswith("/quotes/")
    page = text(client.get(response.url))
    assert "Best quality first" in page and "1 clip(s)" in page and "1.50 USD" in page
    assert "default version 0" in page
    assert "private-name.mp4" not in page

    response = client.post(response.url + "accept/")
    assert response.status_code == 302 and response.url.startswith("/licenses/")
    invoice = Invoice.objects.get(buyer=buyer.organization)
    page = text(client.get(response.url))
    assert invoice.label in page and "bank transfer" in page
    assert "Awaiting Payment" in page
    assert 'hx-trigger="every 30s"' in page  # a bank transfer takes a while
    assert invoice.label in text(client.get("/licenses/"))
    assert "Aerial set" in text(client.get("/requests/"))


def test_request_form_errors(client, buyer):
    logged_in(client, buyer)
    response = client.post("/requests/new/", request_post(budget="0"))
    page = text(response)
    assert response.status_code == 200
    assert "greater than or equal to 0.01" in page


def test_each_creators_condition_is_accepted_on_the_quote_page(client, creator, make_user):
    from outtake.core.terms import clause_id

    buyer = make_user("buyer")
    other = make_user("creator")
    make_asset(creator)
    kept = make_asset(other, width=3840, height=2160).clips.get()
    for who, condition in ((creator, "no military use"), (other, "research only")):
        logged_in(client, who).post(
            "/terms/", terms_post(use_ai_training="constrained", constraint_ai_training=condition)
        )
    logged_in(client, buyer)
    quote_url = client.post("/requests/new/", request_post()).url
    page = text(client.get(quote_url))
    # Each condition, with its text, before anything is accepted; each its own checkbox.
    military, research = (
        clause_id("ai_training", "no military use"),
        clause_id("ai_training", "research only"),
    )
    for cid, condition in ((military, "no military use"), (research, "research only")):
        assert f'name="clause" value="{cid}"' in page
        assert f"I accept the condition on AI/ML training: “{condition}”" in page
    assert "Constraint on AI/ML training: “no military use”" in page
    assert 'People and property: <span class="release">no identifiable people</span>' in page

    response = client.post(quote_url + "accept/", {"clause": [research]})
    assert response.status_code == 302 and response.url.startswith("/licenses/")
    license = License.objects.get(buyer=buyer.organization)
    assert [i.clip for i in license.items.all()] == [kept]
    assert license.accepted_clauses == [
        {"id": research, "use": "ai_training", "text": "research only"}
    ]
    assert license.contract.document["accepted_constraints"] == ["ai_training"]
    page = text(client.get(quote_url))
    assert "1 × AI/ML training: the creator&#x27;s condition not accepted" in page
    license_page = text(client.get(response.url))
    assert "People and property" in license_page
    assert "Constraints you accepted</dt><dd>AI/ML training: “research only”" in license_page


def test_domain_errors_become_messages(client, creator, buyer):
    logged_in(client, buyer)
    response = client.post("/requests/new/", request_post())  # the catalogue is empty
    quote_url = response.url
    assert "No clip fits this request yet" in text(client.get(quote_url))
    response = client.post(quote_url + "accept/", follow=True)
    assert response.status_code == 200 and "this quote has no clips" in text(response)


def test_buyers_only_see_their_own_quotes_and_licenses(client, creator, buyer, make_user):
    make_asset(creator)
    request = market.create_request(buyer, {"budget": "50"})
    quote = market.build_quote(request)
    license = market.accept_quote(buyer, quote)
    logged_in(client, make_user("buyer"))
    assert client.get(f"/quotes/{quote.id}/").status_code == 404
    assert client.get(f"/licenses/{license.id}/").status_code == 404
    assert client.post(f"/quotes/{quote.id}/accept/").status_code == 404
    logged_in(client, creator)
    assert client.get(f"/licenses/{license.id}/").status_code == 403


def test_ready_package_has_a_download_button_that_redirects_to_a_link(client, creator, buyer):
    make_asset(creator)
    license = market.accept_quote(
        buyer, market.build_quote(market.create_request(buyer, {"budget": "50"}))
    )
    license.paid_at = timezone.now()
    license.status = license.Status.PAID
    license.save()
    logged_in(client, buyer)
    partial = text(client.get(f"/licenses/{license.id}/package/"))
    assert "Building your package" in partial and 'hx-trigger="every 3s"' in partial

    license.status = license.Status.DELIVERED
    license.save()
    get_store().put_bytes("deliveries/test.tar", b"package bytes")
    delivery = Delivery.objects.create(
        license=license,
        status=Delivery.Status.READY,
        blob_key="deliveries/test.tar",
        size_bytes=13,
        sha256="cd" * 32,
    )
    page = text(client.get(f"/licenses/{license.id}/"))
    assert f'action="/deliveries/{delivery.id}/download/"' in page
    assert "hx-trigger" not in page  # nothing left to wait for
    response = client.post(f"/deliveries/{delivery.id}/download/")
    assert response.status_code == 302
    assert response.url.startswith("/download/") and response.url.endswith(delivery.filename)
    download = client.get(response.url)
    assert b"".join(download.streaming_content) == b"package bytes"


def test_rights_pages_are_in_the_navigation_of_the_roles_that_use_them(client, creator, buyer):
    links = {
        role: set(
            re.findall(r'<li><a href="(/[a-z/]+)"', text(logged_in(client, who).get("/inbox/")))
        )
        for role, who in (("creator", creator), ("buyer", buyer))
    }
    assert {"/approvals/", "/revocations/", "/audit/"} <= links["creator"]
    assert {"/revocations/", "/audit/"} <= links["buyer"] and "/approvals/" not in links["buyer"]


def test_the_sign_up_page_links_to_the_agreement_anyone_can_read(client):
    page = text(client.get("/signup/"))
    assert 'href="/agreement/text.pdf"' in page
    response = client.get("/agreement/text.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_a_creator_withdraws_an_asset_from_its_page(client, creator, buyer):
    asset = make_asset(creator)
    page = text(logged_in(client, creator).get(f"/assets/{asset.id}/"))
    assert f'action="/assets/{asset.id}/withdraw/"' in page and 'id="withdraw"' in page
    client.post(f"/assets/{asset.id}/withdraw/", {"reason": "no longer mine to sell"})
    page = text(client.get(f"/assets/{asset.id}/"))
    assert "You withdrew this asset from sale" in page and 'id="withdraw"' not in page
    assert "withdrawn from sale by the creator" in page  # each clip says why it is not offered
    assert not market.available_clips(buyer.organization).exists()
