"""Signed checkpoints of the chain head catch a changed row and a rewritten tail."""

from __future__ import annotations

import json

import pytest

from outtake.audit.models import AuditEvent, ChainHead, Checkpoint
from outtake.audit.services import (
    GENESIS,
    create_checkpoint,
    event_hash,
    latest_head,
    record,
    verify_all,
    verify_chain,
)

pytestmark = pytest.mark.django_db


def _rewrite_tail(start_id: int, data: dict) -> None:
    """What an attacker with database access does: change a row and recompute every hash after
    it, so the chain alone still verifies."""
    prev = AuditEvent.objects.filter(id__lt=start_id).order_by("-id").first()
    prev_hash = prev.hash if prev else GENESIS
    for event in AuditEvent.objects.filter(id__gte=start_id).order_by("id"):
        if event.id == start_id:
            event.data = data
        event.prev_hash = prev_hash
        event.hash = event_hash(prev_hash, event)
        AuditEvent.objects.filter(pk=event.pk).update(
            data=event.data, prev_hash=event.prev_hash, hash=event.hash
        )
        prev_hash = event.hash
    ChainHead.objects.filter(id=1).update(hash=prev_hash)


def test_a_rewritten_tail_passes_the_chain_but_not_the_checkpoint(make_user):
    make_user("creator")
    sale = record("test.sale", data={"amount": 100})
    record("test.after", data={})
    checkpoint = create_checkpoint()
    printed = latest_head()
    assert printed["checkpoint"]["head"] == checkpoint.head
    assert verify_all() == (True, [])

    _rewrite_tail(sale.id, {"amount": 1})
    assert verify_chain() == (True, "")  # the chain alone is fooled
    ok, problems = verify_all()
    assert not ok and "differs from the signed head" in problems[0]
    ok, problems = verify_all([printed["checkpoint"]])  # a head printed on a statement
    assert not ok and any("printed head" in p for p in problems)


def test_a_changed_row_and_a_forged_checkpoint_are_caught(make_user):
    make_user("creator")
    record("test.sale", data={"amount": 100})
    create_checkpoint()
    AuditEvent.objects.filter(kind="test.sale").update(data={"amount": 1})
    ok, problems = verify_all()
    assert not ok and "content does not match" in problems[0]

    AuditEvent.objects.filter(kind="test.sale").update(data={"amount": 100})
    forged = Checkpoint.objects.get()
    statement = json.loads(forged.statement)
    statement["head"] = "f" * 64
    Checkpoint.objects.filter(pk=forged.pk).update(statement=json.dumps(statement), head="f" * 64)
    ok, problems = verify_all()
    assert not ok and "signature does not verify" in problems[0]


def test_people_read_the_events_about_them(make_user, client):
    creator, other = make_user("creator"), make_user("creator")
    r = client.get("/api/audit/events", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}")
    kinds = {e["kind"] for e in r.json()}
    assert "account.created" in kinds
    subjects = {e["subject_id"] for e in r.json()}
    assert str(other.id) not in subjects
    client.force_login(creator)
    assert "account.created" in client.get("/audit/").content.decode()
    r = client.post("/api/audit/checkpoints", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}")
    assert r.status_code == 403
    reviewer = make_user("reviewer")
    r = client.post("/api/audit/checkpoints", HTTP_AUTHORIZATION=f"Bearer {reviewer.raw_token}")
    assert r.status_code == 201
