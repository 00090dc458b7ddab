from datetime import datetime

from ninja import Router, Schema, Status

from outtake.accounts.auth import scoped
from outtake.audit import services

router = Router(tags=["audit"])
EVENTS_SHOWN = 500


class EventOut(Schema):
    id: int
    at: datetime
    kind: str
    subject_type: str
    subject_id: str
    data: dict
    hash: str


@router.get("/audit/events", response=list[EventOut], auth=scoped("read"))
def list_events(request, kind: str = ""):
    """The audit events about your organisation (newest first), each with its chain hash
    unless part of its data is withheld from you."""
    qs = services.events_about(request.auth).order_by("-id")
    if kind:
        qs = qs.filter(kind=kind)
    events = []
    for e in qs[:EVENTS_SHOWN]:
        data, chain_hash = services.shown_event(request.auth, e)
        events.append(
            EventOut(
                id=e.id,
                at=e.at,
                kind=e.kind,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                data=data,
                hash=chain_hash,
            )
        )
    return events


@router.get("/audit/head", auth=scoped("read"))
def head(request):
    """The chain's head and the latest signed checkpoint, as printed on documents."""
    return services.latest_head()


@router.post("/audit/checkpoints", response={201: dict}, auth=scoped("read"))
def checkpoint(request):
    """Sign a checkpoint now (reviewers; the worker also does it every hour)."""
    if not request.auth.is_reviewer:
        raise PermissionError("only reviewers sign checkpoints on demand")
    cp = services.create_checkpoint()
    return Status(201, {"count": cp.count, "head": cp.head, "signature": cp.signature})
