"""Signed webhooks: an organisation's notices POSTed to its own systems.

Signed as the Standard Webhooks specification says (standardwebhooks.com), so a buyer can check
them with any of its libraries: headers `webhook-id`, `webhook-timestamp` and `webhook-signature`
= "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), the key being the base64 after
"whsec_". Every attempt of one event carries the same id and body; receivers dedupe on the id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from outtake.core.destinations import DestinationError, check_destination
from outtake.notices.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("outtake.notices.webhooks")

# Seconds to wait before each attempt: at once, then backing off over about a day.
SCHEDULE = (0, 60, 300, 1800, 7200, 21600, 43200)
LEASE = timedelta(minutes=5)  # an attempt in flight is not picked up again meanwhile
MANAGING_ROLES = ("admin", "engineer")
USER_AGENT = "Outtake-Webhooks/1"


class WebhookError(Exception):
    """A webhook request a user can correct: a bad URL, an unknown endpoint."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def check_url(url: str) -> str:
    """A public https address (core.destinations); OUTTAKE_ALLOW_PRIVATE_DESTINATIONS lifts
    the rule for development and tests on loopback."""
    url = url.strip()
    try:
        check_destination(
            url,
            allow_private=settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS,
            max_length=WebhookEndpoint._meta.get_field("url").max_length,
        )
    except DestinationError as exc:
        raise WebhookError(f"webhook URL: {exc}") from exc
    return url


def _can_manage(user) -> None:
    if user.organization_id is None or user.is_reviewer:
        raise PermissionError("webhooks belong to a creator's or a buyer's organisation")
    if user.org_role not in MANAGING_ROLES:
        raise PermissionError("only an organisation's admins and engineers manage webhooks")


def endpoints(user) -> QuerySet[WebhookEndpoint]:
    _can_manage(user)
    return WebhookEndpoint.objects.filter(organization_id=user.organization_id)


def add(user, url: str, kinds: list[str] | None = None) -> WebhookEndpoint:
    """Register an endpoint; its secret is shown to the user once, here."""
    _can_manage(user)
    kinds = sorted({k.strip() for k in kinds or [] if k.strip()})
    if any(len(k) > 64 for k in kinds):
        raise WebhookError("a notice kind is at most 64 characters")
    return WebhookEndpoint.objects.create(
        organization_id=user.organization_id,
        url=check_url(url),
        secret=new_secret(),
        kinds=kinds,
        created_by=user,
    )


def remove(user, endpoint_id: int) -> None:
    endpoints(user).get(id=endpoint_id).delete()


def enable(user, endpoint_id: int) -> WebhookEndpoint:
    """Turn an endpoint that was switched off after failing back on."""
    endpoint = endpoints(user).get(id=endpoint_id)
    endpoint.active, endpoint.failures_in_a_row, endpoint.disabled_reason = True, 0, ""
    endpoint.save(update_fields=["active", "failures_in_a_row", "disabled_reason"])
    return endpoint


def deliveries(user, endpoint_id: int) -> QuerySet[WebhookDelivery]:
    return endpoints(user).get(id=endpoint_id).deliveries.all()


def _event(endpoint: WebhookEndpoint, kind: str, data: dict, now: datetime) -> WebhookDelivery:
    body = json.dumps(
        {"type": kind, "timestamp": now.isoformat(), "data": data},
        sort_keys=True,
        separators=(",", ":"),
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_{uuid.uuid4().hex}",
        kind=kind,
        body=body,
        next_attempt_at=now,
    )


def enqueue(org, kind: str, data: dict) -> list[WebhookDelivery]:
    """Queue one event for each of the organisation's active endpoints that wants this kind;
    sending starts once the transaction commits, so a rolled-back change sends nothing."""
    now = timezone.now()
    created = [
        _event(endpoint, kind, data, now)
        for endpoint in WebhookEndpoint.objects.filter(organization=org, active=True)
        if not endpoint.kinds or kind in endpoint.kinds
    ]
    if created:
        ids = [d.id for d in created]
        transaction.on_commit(lambda: _send_later(ids))
    return created


def _send_later(ids: list[int]) -> None:
    from outtake.notices.tasks import deliver_webhook

    for delivery_id in ids:
        deliver_webhook(delivery_id)


def send_test(user, endpoint_id: int) -> WebhookDelivery:
    """Send a `webhook.test` event now and say how it went."""
    endpoint = endpoints(user).get(id=endpoint_id)
    now = timezone.now()
    data = {"subject": "Test event from Outtake", "organization": endpoint.organization.pseudonym}
    return attempt(_event(endpoint, "webhook.test", data, now).id, now=now)


def attempt(delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Try one due delivery once; record the outcome and when to try again."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        id=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(id=delivery_id)
    if not claimed:  # done, not yet due, or another worker holds it
        return delivery
    endpoint = delivery.endpoint
    if not endpoint.active:  # switched off since it was queued: nothing more is sent
        delivery.status, delivery.last_error = WebhookDelivery.Status.FAILED, "endpoint off"
        delivery.save(update_fields=["status", "last_error"])
        return delivery
    code, error = _post(endpoint, delivery, int(now.timestamp()))
    delivery.last_status_code, delivery.last_error = code, error[:300]
    if not error:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
        WebhookEndpoint.objects.filter(id=endpoint.id).update(failures_in_a_row=0)
    else:
        if delivery.attempts >= len(SCHEDULE):
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=SCHEDULE[delivery.attempts])
        _count_failure(endpoint)
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_error",
        ]
    )
    return delivery


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, timestamp: int):
    """POST once; (status code or None, "" on success or the reason it failed)."""
    try:
        check_url(endpoint.url)  # the name may point somewhere else since it was registered
        response = requests.post(
            endpoint.url,
            data=delivery.body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": delivery.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    endpoint.secret, delivery.message_id, timestamp, delivery.body
                ),
            },
            timeout=settings.OUTTAKE_WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
    except WebhookError as exc:
        return None, str(exc)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"the endpoint answered HTTP {response.status_code}"


def _count_failure(endpoint: WebhookEndpoint) -> None:
    """After many failed attempts in a row the endpoint is switched off and its owners told."""
    WebhookEndpoint.objects.filter(id=endpoint.id).update(
        failures_in_a_row=F("failures_in_a_row") + 1
    )
    endpoint.refresh_from_db(fields=["failures_in_a_row", "active"])
    if endpoint.active and endpoint.failures_in_a_row >= settings.OUTTAKE_WEBHOOK_DISABLE_AFTER:
        reason = f"switched off after {endpoint.failures_in_a_row} failed attempts in a row"
        WebhookEndpoint.objects.filter(id=endpoint.id).update(active=False, disabled_reason=reason)
        from outtake.notices.services import notify  # services imports this module

        notify(
            endpoint.organization.members.filter(org_role__in=MANAGING_ROLES),
            "webhook.disabled",
            "A webhook endpoint was switched off",
            f"{endpoint.url} was {reason}. Fix it and switch it back on.",
            "/inbox/webhooks/",
        )


def retry_due(now: datetime | None = None, limit: int = 200) -> int:
    """Attempt every delivery whose next try is due; the worker runs this each minute."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).values_list("id", flat=True)[:limit]
    )
    for delivery_id in due:
        attempt(delivery_id, now=now)
    return len(due)
