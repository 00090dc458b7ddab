"""`outtake audit verify` on a good and a changed chain; the events creators and buyers read."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from outtake.audit.models import AuditEvent
from outtake.audit.services import create_checkpoint, record
from outtake.cli import app
from outtake.rights import claims
from tests.factories import license_for, ready_clip

pytestmark = pytest.mark.django_db


def test_audit_verify_exits_0_on_a_good_chain_and_1_after_a_changed_row(make_user):
    make_user("creator")
    record("test.sale", data={"amount": 100})
    create_checkpoint()
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain and checkpoints: intact" in result.output

    AuditEvent.objects.filter(kind="test.sale").update(data={"amount": 1})
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "content does not match" in result.output and "NOT intact" in result.output


def test_creators_read_the_events_of_their_licenses_and_acknowledgements(make_user, client):
    creator, other, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    lic = license_for(buyer, [(clip, 100)])
    record("license.contract_accepted", actor=buyer, org=buyer.organization, subject=lic)
    claims.withdraw_asset(creator, clip.asset, "retiring it")
    notice = claims.notices_for(buyer).get()
    claims.acknowledge(buyer, notice)

    def kinds(user) -> set[str]:
        r = client.get("/api/audit/events", HTTP_AUTHORIZATION=f"Bearer {user.raw_token}")
        assert r.status_code == 200
        return {e["kind"] for e in r.json()}

    assert {"license.contract_accepted", "revocation.acknowledged"} <= kinds(creator)
    assert {"license.contract_accepted", "revocation.acknowledged"} <= kinds(buyer)
    assert not {"license.contract_accepted", "revocation.acknowledged"} & kinds(other)
    assert "account.created" not in {
        e["kind"]
        for e in client.get(
            "/api/audit/events", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}"
        ).json()
        if e["subject_id"] == str(creator.id)
    }
    client.force_login(buyer)
    assert "revocation.acknowledged" in client.get("/audit/").content.decode()


def test_an_event_whose_values_are_cut_for_the_reader_comes_without_its_chain_hash(
    make_user, client
):
    """A list of licenses cut down to the reader's own withholds the rest as surely as a key
    taken out: the chain hash would let the reader test guesses of the others."""
    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    clip = ready_clip(creator)
    mine, theirs = license_for(buyer, [(clip, 100)]), license_for(other, [(clip, 100)])
    cut = record(
        "test.licenses",
        actor=buyer,
        org=creator.organization,
        data={"licenses": [str(mine.id), str(theirs.id)]},
    )
    whole = record(
        "test.licenses", actor=buyer, org=creator.organization, data={"licenses": [str(mine.id)]}
    )
    r = client.get(
        "/api/audit/events?kind=test.licenses", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}"
    )
    shown = {e["id"]: e for e in r.json()}
    assert shown[cut.id]["data"]["licenses"] == [str(mine.id)] and shown[cut.id]["hash"] == ""
    assert shown[whole.id]["hash"] == whole.hash
    client.force_login(buyer)
    page = client.get("/audit/").content.decode()
    assert cut.hash[:12] not in page and whole.hash in page
