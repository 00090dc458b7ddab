from datetime import datetime

from ninja import Router, Schema

from outtake.accounts.auth import scoped
from outtake.notices import services

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
