"""Audit events in a hash chain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from outtake.audit.models import AuditEvent, ChainHead

GENESIS = "0" * 64


def _content(event: AuditEvent) -> str:
    return json.dumps(
        {
            "at": event.at.isoformat(),
            "kind": event.kind,
            "actor": event.actor_id,
            "organization": str(event.organization_id) if event.organization_id else None,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _content(event)).encode()).hexdigest()


def record(
    kind: str,
    *,
    actor=None,
    org=None,
    subject: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction when there is one)."""
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"hash": GENESIS}
        )
        event = AuditEvent(
            at=timezone.now(),
            kind=kind,
            actor=actor if actor is not None and actor.pk else None,
            organization=org,
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            data=json.loads(json.dumps(data or {}, default=str)),
            prev_hash=head.hash,
        )
        event.hash = event_hash(head.hash, event)
        event.save()
        head.hash, head.count = event.hash, head.count + 1
        head.save(update_fields=["hash", "count"])
    return event


def verify_chain() -> tuple[bool, str]:
    """Walk the chain from the start; returns (ok, first problem)."""
    prev = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != prev:
            return False, f"event {event.id}: previous hash does not match"
        if event_hash(prev, event) != event.hash:
            return False, f"event {event.id}: content does not match its hash"
        prev = event.hash
        count += 1
    head = ChainHead.objects.filter(id=1).first()
    if head is not None and (head.hash != prev or head.count != count):
        return False, "chain head does not match the last event"
    return True, ""

