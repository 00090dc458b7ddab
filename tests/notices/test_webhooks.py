"""Signed webhooks: a real HTTP receiver on loopback checks what Outtake sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from outtake.market.services import accept_quote, build_quote, create_request
from outtake.notices import webhooks
from outtake.notices.models import Notification, WebhookDelivery
from outtake.notices.services import notify_org
from outtake.rights import claims
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server that records each POST and answers with the next programmed status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.answers.pop(0) if receiver.answers else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/outtake"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS = True
    r = Receiver()
    yield r
    r.close()


def signature_ok(secret: str, request: dict) -> bool:
    """The receiver's side of the Standard Webhooks scheme, written from the specification."""
    h = request["headers"]
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(part.split(",", 1)[1], expected)
        for part in h["webhook-signature"].split()
    )


def test_urls_must_be_public_https_by_default(make_user):
    buyer = make_user("buyer")
    for url, why in [
        ("http://203.0.113.9/hook", "https"),
        ("https://127.0.0.1/hook", "not a public"),
        ("https://10.1.2.3/hook", "not a public"),
        ("https://[::1]/hook", "not a public"),
        ("https://user:pw@203.0.113.9/hook", "user name"),
        ("ftp://203.0.113.9/hook", "https"),
        ("https://" + "a" * 600 + ".example/", "longer than 500"),
    ]:
        with pytest.raises(webhooks.WebhookError, match=why):
            webhooks.add(buyer, url)


def test_an_event_is_posted_signed_and_retried_with_the_same_id(
    make_user, receiver, django_capture_on_commit_callbacks
):
    buyer = make_user("buyer")
    endpoint = webhooks.add(buyer, receiver.url)
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        notify_org(
            buyer.organization, "package.ready", "Ready", "v1", "/deliveries/1/", {"version": 1}
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)

    assert webhooks.retry_due() == 0  # not due yet
    assert webhooks.retry_due(now=timezone.now() + timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2

    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery.message_id
    assert first["body"] == second["body"]
    assert all(signature_ok(endpoint.secret, r) for r in receiver.requests)
    event = json.loads(second["body"])
    assert event["type"] == "package.ready"
    assert event["data"]["version"] == 1 and event["data"]["subject"] == "Ready"
    assert event["data"]["url"].endswith("/deliveries/1/")
    assert event["data"]["organization"] == buyer.organization.pseudonym

    tampered = {**second, "body": second["body"].replace(b'"Ready"', b'"Paid!"')}
    assert not signature_ok(endpoint.secret, tampered)
    assert not signature_ok(webhooks.new_secret(), second)


def test_endpoints_get_only_the_kinds_they_asked_for(
    make_user, receiver, django_capture_on_commit_callbacks
):
    buyer = make_user("buyer")
    webhooks.add(buyer, receiver.url, ["package.ready"])
    with django_capture_on_commit_callbacks(execute=True):
        notify_org(buyer.organization, "invoice.issued", "Invoice")
        notify_org(buyer.organization, "package.ready", "Ready")
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["package.ready"]


def test_a_failing_endpoint_is_switched_off_and_its_admins_told(make_user, receiver, settings):
    settings.OUTTAKE_WEBHOOK_DISABLE_AFTER = 2
    buyer = make_user("buyer")
    endpoint = webhooks.add(buyer, receiver.url)
    receiver.answers = [503, 503]
    assert webhooks.send_test(buyer, endpoint.id).status == "pending"
    assert webhooks.send_test(buyer, endpoint.id).status == "pending"
    endpoint.refresh_from_db()
    assert not endpoint.active and "2 failed attempts" in endpoint.disabled_reason
    assert Notification.objects.filter(user=buyer, kind="webhook.disabled").exists()
    # Nothing more is sent to it; pending retries fail for good when they come due.
    notify_org(buyer.organization, "package.ready", "Ready")
    assert WebhookDelivery.objects.filter(endpoint=endpoint, kind="package.ready").count() == 0
    webhooks.retry_due(now=timezone.now() + timedelta(hours=1))
    assert set(endpoint.deliveries.values_list("status", flat=True)) == {"failed"}
    assert len(receiver.requests) == 2  # the two tests; nothing after the switch-off

    assert webhooks.enable(buyer, endpoint.id).active
    assert webhooks.send_test(buyer, endpoint.id).status == "delivered"


def test_a_revocation_reaches_the_buyers_system(
    make_user, receiver, django_capture_on_commit_callbacks
):
    creator, buyer = make_user("creator"), make_user("buyer")
    endpoint = webhooks.add(buyer, receiver.url)
    clip = ready_clip(creator)
    lic = accept_quote(buyer, build_quote(create_request(buyer, {"budget": "1000"})))
    receiver.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        claims.withdraw_asset(creator, clip.asset, reason="personal")
    [request] = [r for r in receiver.requests if b"revocation.notice" in r["body"]]
    assert signature_ok(endpoint.secret, request)
    data = json.loads(request["body"])["data"]
    assert data["url"].startswith("http") and data["clip_ids"] == [str(clip.id)]
    assert data["license_id"] == str(lic.id) and data["kind"] == "withdrawal"
    assert data["acknowledge"] == f"/api/revocation-notices/{data['notice_id']}/acknowledge"


def test_api_shows_the_secret_once_and_keeps_organisations_apart(make_user, client, settings):
    settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS = True
    buyer, other = make_user("buyer"), make_user("buyer")

    def auth(user):
        return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}

    r = client.post(
        "/api/webhooks",
        {"url": "http://127.0.0.1:9/x", "kinds": ["package.ready"]},
        content_type="application/json",
        **auth(buyer),
    )
    assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
    endpoint_id = r.json()["id"]
    listed = client.get("/api/webhooks", **auth(buyer)).json()
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert client.get("/api/webhooks", **auth(other)).json() == []
    assert client.delete(f"/api/webhooks/{endpoint_id}", **auth(other)).status_code == 404
    bad = client.post(
        "/api/webhooks",
        {"url": "javascript:alert(1)"},
        content_type="application/json",
        **auth(buyer),
    )
    assert bad.status_code == 400 and "https" in bad.json()["detail"]

    finance = make_user("buyer", organization=buyer.organization)
    finance.org_role = "finance"
    finance.save(update_fields=["org_role"])
    assert client.get("/api/webhooks", **auth(finance)).status_code == 403
    assert client.delete(f"/api/webhooks/{endpoint_id}", **auth(buyer)).status_code == 204


def test_the_webhooks_page_adds_an_endpoint_and_sends_a_test(make_user, client, receiver):
    buyer = make_user("buyer")
    client.force_login(buyer)
    page = client.post("/inbox/webhooks/", {"action": "add", "url": receiver.url})
    assert page.status_code == 200
    endpoint = webhooks.endpoints(buyer).get()
    assert endpoint.secret in page.content.decode()  # shown once, on this answer
    client.post("/inbox/webhooks/", {"action": "test", "id": endpoint.id})
    assert signature_ok(endpoint.secret, receiver.requests[-1])
    listing = client.get("/inbox/webhooks/").content.decode()
    assert "webhook.test" in listing and "delivered" in listing
    assert endpoint.secret not in listing
    bad = client.post("/inbox/webhooks/", {"action": "add", "url": "file:///etc/passwd"})
    assert bad.status_code == 400 and "https" in bad.content.decode()
