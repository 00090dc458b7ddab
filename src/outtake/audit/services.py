"""Audit events in a hash chain, and signed checkpoints of its head."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import Counter
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from outtake.audit.models import AuditEvent, ChainHead, Checkpoint
from outtake.provenance.ca import certificates, fingerprint, issue_leaf
from outtake.provenance.signing import CHECKPOINT_PURPOSE

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
    leaf = issue_leaf(settings.OUTTAKE_PKI_DIR, CHECKPOINT_PURPOSE)
    key = serialization.load_pem_private_key(leaf.key_pem, None)
    return key, x509.load_pem_x509_certificate(leaf.cert_pem)


def create_checkpoint() -> Checkpoint:
    """Sign the chain's current head with Outtake's checkpoint key (its own CA leaf)."""
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
    checkpoint (with the statement that was signed and its certificate), so a later rewrite is
    detectable from documents already handed out."""
    head = ChainHead.objects.filter(id=1).first()
    checkpoint = Checkpoint.objects.order_by("-count", "-id").first()
    signed = None
    if checkpoint is not None:
        cert = _certificates().get(checkpoint.certificate_fingerprint)
        signed = {
            "at": checkpoint.at.isoformat(),
            "count": checkpoint.count,
            "head": checkpoint.head,
            "signature": checkpoint.signature,
            "statement": checkpoint.statement,
            "certificate": cert.public_bytes(serialization.Encoding.PEM).decode() if cert else "",
        }
    return {
        "count": head.count if head else 0,
        "head": head.hash if head else GENESIS,
        "checkpoint": signed,
    }


def _certificates() -> dict[str, x509.Certificate]:
    """Every checkpoint certificate this installation has had, by fingerprint (renewed ones
    stay in the archive). Never issues one: verifying must not invent a key."""
    return {
        fingerprint(cert): cert
        for cert in certificates(settings.OUTTAKE_PKI_DIR, CHECKPOINT_PURPOSE)
    }


def _statement_of(copy: dict[str, Any]) -> str:
    """The signed statement of a checkpoint copy: carried with it, or rebuilt from its fields
    exactly as create_checkpoint wrote it (a statement's CSV prints only the fields)."""
    return copy.get("statement") or json.dumps(
        {"at": copy["at"], "count": int(copy["count"]), "head": copy["head"]},
        sort_keys=True,
        separators=(",", ":"),
    )


def _signature_ok(
    statement: str, signature: str, count: int, head: str, certs: list[x509.Certificate]
) -> bool:
    """The statement says (count, head) and one of the certificates signed it."""
    try:
        stated = json.loads(statement)
        if (int(stated["count"]), stated["head"]) != (int(count), head):
            return False
        raw = base64.b64decode(signature)
    except (ValueError, KeyError, TypeError):
        return False
    for cert in certs:
        try:
            cert.public_key().verify(raw, statement.encode(), ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            continue
    return False


def _printed_problems(
    copy: dict[str, Any], hashes_at: dict[int, str], certs: list[x509.Certificate]
) -> list[str]:
    """A head copied from a document: its count and head against the chain, and, where it is a
    signed checkpoint or carries one, that Outtake signed it."""
    problems = []
    if copy.get("checkpoint"):
        problems += _printed_problems(copy["checkpoint"], hashes_at, certs)
    count = int(copy["count"])
    what = "the printed checkpoint" if "signature" in copy else "the printed head"
    if "signature" in copy and not _signature_ok(
        _statement_of(copy), copy["signature"], count, copy["head"], certs
    ):
        problems.append(f"{what} (event {count}): its signature does not verify")
    if count >= len(hashes_at):
        problems.append(f"{what} (event {count}): the chain now has only {len(hashes_at) - 1}")
    elif hashes_at.get(count) != copy["head"]:
        problems.append(f"{what} (event {count}) differs from the chain")
    return problems


def verify_all(printed: list[dict[str, Any]] | None = None) -> tuple[bool, list[str]]:
    """The chain, then every stored checkpoint against it, each verified with the certificate
    recorded with it, then any heads copied from documents (dicts with count and head, and a
    signed "checkpoint" or a "signature" of their own): a changed row, a recomputed tail or a
    tail rewritten after the last checkpoint is caught."""
    problems = []
    ok, problem = verify_chain()
    if not ok:
        problems.append(problem)
    hashes_at = dict(
        enumerate(AuditEvent.objects.order_by("id").values_list("hash", flat=True), start=1)
    )
    hashes_at[0] = GENESIS
    certs = _certificates()
    missing: Counter[str] = Counter()
    for checkpoint in Checkpoint.objects.order_by("count", "id"):
        cert = certs.get(checkpoint.certificate_fingerprint)
        if cert is None:
            missing[checkpoint.certificate_fingerprint] += 1
        elif not _signature_ok(
            checkpoint.statement, checkpoint.signature, checkpoint.count, checkpoint.head, [cert]
        ):
            problems.append(f"checkpoint {checkpoint.id}: signature does not verify")
        elif hashes_at.get(checkpoint.count) != checkpoint.head:
            problems.append(
                f"checkpoint {checkpoint.id}: event {checkpoint.count} differs from the signed head"
            )
    for fp, n in missing.items():
        problems.append(
            f"{n} checkpoint(s) signed by certificate {fp[:16]}…, which is not in "
            f"{settings.OUTTAKE_PKI_DIR / 'signing'}: they cannot be verified; restore the pki "
            "folder from a backup"
        )
    for copy in printed or []:
        problems += _printed_problems(copy, hashes_at, list(certs.values()))
    return not problems, problems


def read_printed_head(text: str) -> dict[str, Any]:
    """A head as documents print it: JSON (a package's audit_head.json, GET /api/audit/head)
    or the last line of a statement's CSV ("# audit chain", head, events, "checkpoint", at,
    count, head, signature). Raises ValueError saying what is wrong with it."""
    try:
        parsed = json.loads(text)
    except ValueError:
        rows = [r for r in csv.reader(io.StringIO(text)) if r and r[0] == "# audit chain"]
        if not rows or len(rows[-1]) < 3:
            raise ValueError("neither JSON with count and head nor a statement's CSV") from None
        row = rows[-1]
        parsed = {"head": row[1], "count": row[2]}
        if len(row) >= 8 and row[7]:
            parsed["checkpoint"] = dict(
                zip(("at", "count", "head", "signature"), row[4:8], strict=True)
            )
    _check_copy(parsed, "it")
    if parsed.get("checkpoint") is not None:
        _check_copy(parsed["checkpoint"], "its checkpoint", signed=True)
    return parsed


def _check_copy(copy: Any, what: str, *, signed: bool = False) -> None:
    needed = ("count", "head", "signature") if signed else ("count", "head")
    if not isinstance(copy, dict) or any(k not in copy for k in needed):
        raise ValueError(f"{what} lacks one of {', '.join(needed)}")
    if signed and "statement" not in copy and "at" not in copy:
        raise ValueError(f"{what} has neither the signed statement nor its time")
    try:
        int(copy["count"])
    except (TypeError, ValueError):
        raise ValueError(f"{what}: the count is not a number") from None


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
    if user.is_buyer:
        # The revocations of clips of its licenses (recorded under the creator's organisation).
        revoked = RevocationNotice.objects.filter(license__buyer=user.organization)
        ids = {str(pk) for pk in revoked.values_list("revocation_id", flat=True)}
        mine |= Q(subject_type="rights.revocation", subject_id__in=ids)
    return AuditEvent.objects.filter(mine).select_related("organization")


# Data naming a person without an account (a claimant, someone asking to be removed): read by
# reviewers only.
PEOPLE = frozenset({"claimant", "requester"})
# Data naming an account or an organisation: read by the organisation the event was recorded
# under (and reviewers).
PARTIES = frozenset({"account", "buyer", "organization"})
# Hashes of a license's accepted data or of its render: both name the buyer, and creators know
# the rest of it, so a creator the name is withheld from could try each lab's name until one
# matched. Read by the buyer (and reviewers) only when the buyer withholds its name.
NAMING_HASHES = frozenset({"data_sha256", "document_sha256", "contract_data_sha256"})


def shown_data(user, event: AuditEvent) -> dict[str, Any]:
    """An event's data as this user may read it. Another party's event names that party only as
    it chose to be shown (a buyer's name for creators, a creator's pseudonym), no account or
    person, and only the viewer's own licenses."""
    from outtake.accounts.models import Organization
    from outtake.market.models import License

    if user.is_reviewer:
        return event.data
    data = {key: value for key, value in event.data.items() if key not in PEOPLE}
    if event.organization_id == user.organization_id:
        return data
    data = {key: value for key, value in data.items() if key not in PARTIES}
    party = event.organization
    if party is not None:
        buyer = party.kind == Organization.Kind.BUYER
        data["party"] = party.name_for_creators if buyer else party.pseudonym
        if buyer and party.show_as_ai_lab:
            data = {key: value for key, value in data.items() if key not in NAMING_HASHES}
    if isinstance(data.get("licenses"), list):
        own = License.objects.filter(buyer=user.organization, id__in=data["licenses"])
        kept = {str(pk) for pk in own.values_list("id", flat=True)}
        data["licenses"] = [lic for lic in data["licenses"] if lic in kept]
    return data


def shown_event(user, event: AuditEvent) -> tuple[dict[str, Any], str]:
    """An event's data as this user may read it, and its chain hash only when that data is all
    the hash covers (the party named aside): next to anything withheld, a key or a value cut
    down, the hash would let a guess of it be tested (a buyer's name through hashes naming it)."""
    data = shown_data(user, event)
    whole = {key: value for key, value in data.items() if key != "party"} == event.data
    return data, event.hash if whole else ""
