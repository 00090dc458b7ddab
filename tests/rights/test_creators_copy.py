"""The creators' copy of a license whose buyer asked to be shown to creators as "an AI lab": the
sealed original names the buyer and cannot be edited, so creators get the same document naming
the buyer as shown, sealed by Outtake; the buyer and reviewers still get the original."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import subprocess
import sys

import pytest
from django.apps import apps as django_apps
from django.conf import settings

from outtake.audit.models import AuditEvent
from outtake.market.services import accept_quote, build_quote, create_request
from tests.factories import ready_clip
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db
LAB = "Northwind Vision Research"


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


@pytest.fixture
def sold(make_user):
    creator, buyer = make_user("creator"), make_user("buyer", org_name=LAB)
    buyer.organization.show_as_ai_lab = True
    buyer.organization.save(update_fields=["show_as_ai_lab"])
    ready_clip(creator)
    lic = accept_quote(buyer, build_quote(create_request(buyer, {"budget": "100"})))
    return lic, buyer, creator


def _verified_by_the_cli(pdf: bytes, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    root = settings.OUTTAKE_PKI_DIR / "root.pem"
    run = [sys.executable, "-m", "outtake.cli", "verify-contract", str(path), "--root", str(root)]
    return subprocess.run(run, capture_output=True, text=True, timeout=120)


def test_creators_get_a_sealed_copy_naming_the_buyer_as_shown(sold, client, tmp_path):
    lic, buyer, creator = sold
    url = f"/api/licenses/{lic.id}/contract"
    original = client.get(url, **auth(buyer)).content
    lic.contract.refresh_from_db()
    assert hashlib.sha256(original).hexdigest() == lic.contract.sealed_sha256
    assert LAB in pdf_text(original)[1]

    copy = client.get(url, **auth(creator)).content
    _, text = pdf_text(copy)
    assert LAB not in text and LAB.encode() not in copy  # nor in the PDF's metadata
    flat = re.sub(r"\s+", "", text)  # a long id or hash may wrap anywhere
    assert f"Creators’copyofLicense{lic.id}" in flat
    assert "The Licensee’s identity is withheld at the Licensee’s request" in text
    assert "(2) an AI lab, the “Licensee”" in text
    assert lic.contract.sealed_sha256 in flat
    assert "Dataset License Agreement" in text and creator.organization.pseudonym in text
    checked = _verified_by_the_cli(copy, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "contract valid" in checked.stderr

    # Sealed once, then served from storage, on the API and the contracts page alike.
    assert client.get(url, **auth(creator)).content == copy
    client.force_login(creator)
    assert client.get(f"/licenses/{lic.id}/contract.pdf").content == copy
    [event] = AuditEvent.objects.filter(kind="license.creators_copy_sealed")
    assert event.data["copy_sha256"] == hashlib.sha256(copy).hexdigest()
    assert event.data["sealed_sha256"] == lic.contract.sealed_sha256

    client.force_login(buyer)
    assert client.get(f"/licenses/{lic.id}/contract.pdf").content == original


def test_reviewers_get_the_original_and_creators_it_once_the_buyer_is_named(
    sold, client, make_user
):
    lic, buyer, creator = sold
    reviewer = make_user("reviewer")
    url = f"/api/licenses/{lic.id}/contract"
    original = client.get(url, **auth(buyer)).content
    assert client.get(url, **auth(reviewer)).content == original
    buyer.organization.show_as_ai_lab = False
    buyer.organization.save(update_fields=["show_as_ai_lab"])
    assert client.get(url, **auth(creator)).content == original


def test_the_odrl_creators_get_names_the_assignee_as_shown(sold, client):
    lic, buyer, creator = sold
    url = f"/api/licenses/{lic.id}/odrl"
    theirs = client.get(url, **auth(buyer)).json()
    assert theirs["assignee"]["vcard:fn"] == LAB
    response = client.get(url, **auth(creator))
    assert LAB not in response.content.decode()
    ours = response.json()
    assert ours["assignee"]["vcard:fn"] == "an AI lab"
    assert "withheld" in ours["assignee"]["dct:description"]
    # Everything but how the assignee is named is the buyer's policy.
    for policy in (theirs, ours):
        policy["assignee"] = None
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    client.force_login(creator)
    assert client.get(f"/licenses/{lic.id}/odrl.json").json()["assignee"]["vcard:fn"] == (
        "an AI lab"
    )


def test_sealing_holds_no_transaction_and_the_first_to_store_wins(sold, monkeypatch):
    from django.db import connection

    from outtake.rights import contracts
    from outtake.storage import get_store

    lic, _, _ = sold
    outside = len(connection.atomic_blocks)  # the test's own
    real_seal = contracts.seal_pdf
    depths, meanwhile = [], []

    def sealing(pdf, pki, *, reason):
        depths.append(len(connection.atomic_blocks))
        sealed = real_seal(pdf, pki, reason=reason)
        if not meanwhile:  # another request makes the same documents and stores them first
            meanwhile.append(None)
            meanwhile.append(contracts.creators_copy_pdf(lic.contract))
        return sealed

    monkeypatch.setattr(contracts, "seal_pdf", sealing)
    copy = contracts.creators_copy_pdf(lic.contract)

    # Rendering and sealing (the original, then the copy, each twice) ran in no transaction.
    assert depths == [outside] * 4
    assert copy == meanwhile[1]  # the loser's work is dropped, not stored over the winner's
    lic.contract.refresh_from_db()
    original = get_store().get_bytes(lic.contract.sealed_key)
    assert hashlib.sha256(original).hexdigest() == lic.contract.sealed_sha256
    [sealed] = AuditEvent.objects.filter(kind="license.contract_sealed")
    assert sealed.data["sealed_sha256"] == lic.contract.sealed_sha256
    [made] = AuditEvent.objects.filter(kind="license.creators_copy_sealed")
    assert made.data["copy_sha256"] == hashlib.sha256(copy).hexdigest()


def test_the_copy_hash_creators_get_is_kept_when_stored_not_read_back(sold, client, monkeypatch):
    from outtake.rights import contracts

    lic, _, creator = sold
    copy = client.get(f"/api/licenses/{lic.id}/contract", **auth(creator)).content
    lic.contract.refresh_from_db()
    assert lic.contract.copy_sha256 == hashlib.sha256(copy).hexdigest()

    class Unread:
        def get_bytes(self, key):
            raise AssertionError(f"{key} was read back to hash it")

    with monkeypatch.context() as m:
        m.setattr(contracts, "get_store", Unread)
        r = client.get(f"/api/licenses/{lic.id}/contract/record", **auth(creator))
    assert r.status_code == 200 and r.json()["copy_sha256"] == lic.contract.copy_sha256

    # Copies stored before the hash was kept get it from the event recorded when each was.
    migration = importlib.import_module(
        "outtake.rights.migrations.0005_licensecontract_copy_sha256"
    )
    type(lic.contract).objects.filter(pk=lic.contract.pk).update(copy_sha256="")
    migration.from_audit_events(django_apps, None)
    lic.contract.refresh_from_db()
    assert lic.contract.copy_sha256 == hashlib.sha256(copy).hexdigest()


@pytest.mark.parametrize("unrecorded", ["record rolled back", "not backfilled"])
def test_a_copy_in_storage_without_its_hash_on_the_contract_is_made_anew(
    sold, client, monkeypatch, unrecorded
):
    from outtake.rights import contracts
    from outtake.storage import get_store

    lic, _, creator = sold
    contracts.seal_contract(lic.contract.pk)
    if unrecorded == "record rolled back":  # the copy was stored, then its transaction failed
        real_record = contracts.record

        def failing(kind, **kwargs):
            if kind == "license.creators_copy_sealed":
                raise RuntimeError("the database went away")
            return real_record(kind, **kwargs)

        with monkeypatch.context() as m:
            m.setattr(contracts, "record", failing)
            with pytest.raises(RuntimeError):
                contracts.creators_copy_pdf(lic.contract)
    else:  # stored before its hash was kept, and no event of it found to fill the hash from
        contracts.creators_copy_pdf(lic.contract)
        type(lic.contract).objects.filter(pk=lic.contract.pk).update(copy_sha256="")
    unrecorded_copy = get_store().get_bytes(f"contracts/licenses/{lic.id}/creators_copy.pdf")
    lic.contract.refresh_from_db()
    assert lic.contract.copy_sha256 == ""

    copy = client.get(f"/api/licenses/{lic.id}/contract", **auth(creator)).content

    # What creators download is the copy whose hash they are given, and the copy recorded.
    digest = hashlib.sha256(copy).hexdigest()
    assert copy != unrecorded_copy
    lic.contract.refresh_from_db()
    assert lic.contract.copy_sha256 == digest
    r = client.get(f"/api/licenses/{lic.id}/contract/record", **auth(creator))
    assert r.json()["copy_sha256"] == digest
    assert AuditEvent.objects.filter(
        kind="license.creators_copy_sealed", data__copy_sha256=digest
    ).exists()
    assert client.get(f"/api/licenses/{lic.id}/contract", **auth(creator)).content == copy
