from datetime import datetime

from ninja import Router, Schema, Status

from outtake.accounts.auth import scoped
from outtake.notices import services, webhooks

router = Router(tags=["notices"])


class NotificationOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class ReadIn(Schema):
    ids: list[int] | None = None


@router.get("/inbox", response=list[NotificationOut], auth=scoped("read"))
def inbox(request, unread: bool = False):
    return list(services.inbox(request.auth, unread_only=unread)[:200])


@router.post("/inbox/read", response={200: dict}, auth=scoped("read"))
def mark_read(request, payload: ReadIn):
    return {"marked": services.mark_read(request.auth, payload.ids)}


class WebhookIn(Schema):
    url: str
    kinds: list[str] = []


class WebhookOut(Schema):
    id: int
    url: str
    kinds: list[str]
    active: bool
    failures_in_a_row: int
    disabled_reason: str
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str  # shown once: verify each delivery's webhook-signature with it


class WebhookDeliveryOut(Schema):
    message_id: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime


@router.get("/webhooks", response=list[WebhookOut], auth=scoped("read"))
def list_webhooks(request):
    """Your organisation's endpoints. Each event is POSTed as JSON signed by the Standard
    Webhooks scheme: headers webhook-id, webhook-timestamp, webhook-signature."""
    return list(webhooks.endpoints(request.auth))


@router.post("/webhooks", response={201: WebhookCreated}, auth=scoped("read"))
def add_webhook(request, payload: WebhookIn):
    return Status(201, webhooks.add(request.auth, payload.url, payload.kinds))


@router.delete("/webhooks/{int:endpoint_id}", response={204: None}, auth=scoped("read"))
def remove_webhook(request, endpoint_id: int):
    webhooks.remove(request.auth, endpoint_id)
    return Status(204, None)


@router.post("/webhooks/{int:endpoint_id}/enable", response=WebhookOut, auth=scoped("read"))
def enable_webhook(request, endpoint_id: int):
    return webhooks.enable(request.auth, endpoint_id)


@router.post("/webhooks/{int:endpoint_id}/test", response=WebhookDeliveryOut, auth=scoped("read"))
def test_webhook(request, endpoint_id: int):
    """Send a `webhook.test` event now; the answer says whether it was delivered."""
    return webhooks.send_test(request.auth, endpoint_id)


@router.get(
    "/webhooks/{int:endpoint_id}/deliveries",
    response=list[WebhookDeliveryOut],
    auth=scoped("read"),
)
def webhook_deliveries(request, endpoint_id: int):
    return list(webhooks.deliveries(request.auth, endpoint_id)[:200])
