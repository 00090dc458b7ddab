"""Signed checkpoints of the chain head catch a changed row and a rewritten tail."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

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
from outtake.cli import app
from outtake.ledger.statements import audit_row
from outtake.provenance import ca

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
    ok, problems = verify_all([printed["checkpoint"]])  # a checkpoint printed on a statement
    assert (
        not ok
        and f"the printed checkpoint (event {checkpoint.count}) differs from the chain" in problems
    )


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


def _verify(*heads) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", *[f"--head={h}" for h in heads]])
    return result.exit_code, result.output


def test_verify_head_checks_the_printed_head_and_its_signed_checkpoint(make_user, tmp_path):
    make_user("creator")
    create_checkpoint()
    after = record("test.sale", data={"amount": 100})  # after the last checkpoint
    record("test.after", data={})
    package = tmp_path / "audit_head.json"  # as a package carries it
    package.write_text(json.dumps(latest_head()))
    st = SimpleNamespace(**{f"audit_{k}": v for k, v in latest_head().items()})
    st.audit_events = st.audit_count
    statement = tmp_path / "statement.csv"  # a statement's CSV, footer last
    statement.write_text("date,amount\n2026-01-01,5.00\n" + ",".join(map(str, audit_row(st))))
    assert _verify(package, statement)[0] == 0

    # A tail rewritten after the last checkpoint fools the chain and the checkpoints...
    _rewrite_tail(after.id, {"amount": 1})
    assert _verify() == (0, "audit chain and checkpoints: intact\n")
    # ...but not a head printed on a document handed out before.
    for printed in (package, statement):
        code, output = _verify(printed)
        assert code == 1 and "the printed head (event " in output and "differs" in output
        assert "printed checkpoint" not in output  # the checkpoint itself still matches

    # A printed checkpoint must carry Outtake's signature, not just the right numbers.
    forged = json.loads(package.read_text())
    forged["checkpoint"]["signature"] = forged["checkpoint"]["signature"][:-8] + "AAAAAAA="
    package.write_text(json.dumps(forged))
    code, output = _verify(package)
    assert code == 1 and "its signature does not verify" in output

    package.write_text('{"head": "abc"}')
    code, output = _verify(package)
    assert code == 2 and "lacks one of count, head" in output


def test_checkpoints_verify_with_their_own_certificate_after_renewal(
    make_user, settings, tmp_path, monkeypatch
):
    settings.OUTTAKE_PKI_DIR = tmp_path / "pki"
    make_user("creator")
    first = create_checkpoint()
    # The checkpoint certificate counts as near its end, so the next checkpoint renews it.
    monkeypatch.setattr(ca, "RENEW_BEFORE", ca.dt.timedelta(days=365 * ca.LEAF_YEARS))
    record("test.more", data={})
    second = create_checkpoint()
    assert first.certificate_fingerprint != second.certificate_fingerprint
    assert verify_all([latest_head()]) == (True, [])


def test_a_missing_checkpoint_key_is_reported_not_replaced(make_user, settings, tmp_path):
    settings.OUTTAKE_PKI_DIR = tmp_path / "pki"
    make_user("creator")
    create_checkpoint()
    create_checkpoint()
    shutil.rmtree(tmp_path / "pki" / "signing")  # e.g. a restore without the pki folder

    ok, [problem] = verify_all()
    assert not ok
    assert problem.startswith("2 checkpoint(s) signed by certificate ")
    assert "restore the pki folder from a backup" in problem
    assert not (tmp_path / "pki" / "signing").exists()  # no new key was made up
