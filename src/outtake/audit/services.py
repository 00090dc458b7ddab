"""Audit events in a hash chain, and signed checkpoints of its head."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from outtake.audit.models import AuditEvent, ChainHead, Checkpoint
from outtake.provenance.ca import fingerprint

CHECKPOINT_PURPOSE = "audit-checkpoint"

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


def _checkpoint_key():
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from outtake.provenance.ca import issue_leaf

    issued = issue_leaf(settings.OUTTAKE_PKI_DIR, CHECKPOINT_PURPOSE)
    key = serialization.load_pem_private_key(issued.key_path.read_bytes(), None)
    return key, x509.load_pem_x509_certificate(issued.cert_path.read_bytes())


def create_checkpoint() -> Checkpoint:
    """Sign the chain's current head with Outtake's checkpoint key (its own CA leaf)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key, cert = _checkpoint_key()
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"hash": GENESIS}
        )
        at = timezone.now()
        statement = json.dumps(
            {"at": at.isoformat(), "count": head.count, "head": head.hash},
            sort_keys=True,
            separators=(",", ":"),
        )
        signature = key.sign(statement.encode(), ec.ECDSA(hashes.SHA256()))
        return Checkpoint.objects.create(
            at=at,
            count=head.count,
            head=head.hash,
            statement=statement,
            signature=base64.b64encode(signature).decode(),
            certificate_fingerprint=fingerprint(cert),
        )


def latest_head() -> dict[str, Any]:
    """What statements and packages print: the chain's head now and the latest signed
    checkpoint, so a later rewrite is detectable from documents already handed out."""
    head = ChainHead.objects.filter(id=1).first()
    checkpoint = Checkpoint.objects.order_by("-count", "-id").first()
    return {
        "count": head.count if head else 0,
        "head": head.hash if head else GENESIS,
        "checkpoint": {
            "at": checkpoint.at.isoformat(),
            "count": checkpoint.count,
            "head": checkpoint.head,
            "signature": checkpoint.signature,
        }
        if checkpoint
        else None,
    }


def _signature_ok(checkpoint: Checkpoint, public_key) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    stated = json.loads(checkpoint.statement)
    if (stated["count"], stated["head"]) != (checkpoint.count, checkpoint.head):
        return False
    try:
        public_key.verify(
            base64.b64decode(checkpoint.signature),
            checkpoint.statement.encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_all(extra: list[dict[str, Any]] | None = None) -> tuple[bool, list[str]]:
    """The chain, then every checkpoint (stored, plus any copied from documents: dicts with
    count and head) against it: a changed row or a recomputed tail is caught."""
    problems = []
    ok, problem = verify_chain()
    if not ok:
        problems.append(problem)
    hashes_at = dict(
        enumerate(AuditEvent.objects.order_by("id").values_list("hash", flat=True), start=1)
    )
    hashes_at[0] = GENESIS
    _, cert = _checkpoint_key()
    for checkpoint in Checkpoint.objects.order_by("count", "id"):
        if not _signature_ok(checkpoint, cert.public_key()):
            problems.append(f"checkpoint {checkpoint.id}: signature does not verify")
        elif hashes_at.get(checkpoint.count) != checkpoint.head:
            problems.append(
                f"checkpoint {checkpoint.id}: event {checkpoint.count} differs from the signed head"
            )
    for copy in extra or []:
        if hashes_at.get(int(copy["count"])) != copy["head"]:
            problems.append(f"a printed head (event {copy['count']}) differs from the chain")
    return not problems, problems


def events_about(user) -> QuerySet[AuditEvent]:
    """The events a creator or buyer may read: their organisation's, done by them, and, for a
    creator, those about the licenses of their clips and the buyers' acknowledgements of their
    revocations (recorded under the buyer's organisation)."""
    from outtake.market.models import License
    from outtake.rights.models import RevocationNotice

    if user.is_reviewer:
        return AuditEvent.objects.all()
    mine = Q(organization=user.organization) | Q(actor=user)
    if user.is_creator:
        licenses = License.objects.filter(items__creator=user.organization)
        notices = RevocationNotice.objects.filter(revocation__asset__owner=user.organization)
        for model, qs in ((License, licenses), (RevocationNotice, notices)):
            ids = {str(pk) for pk in qs.values_list("id", flat=True)}
            mine |= Q(subject_type=model._meta.label_lower, subject_id__in=ids)
    return AuditEvent.objects.filter(mine)
