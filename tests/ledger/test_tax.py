"""Tax profiles, payout details, per-creator withholding and the yearly export."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.ledger.models import PayoutDestination, TaxProfile
from outtake.ledger.payouts import run_payouts, withholding_rate
from outtake.ledger.services import LedgerError, refund, trial_balance
from outtake.ledger.tax import (
    mask,
    save_payout_destination,
    save_tax_profile,
    set_withholding_rate,
    yearly_export_csv,
)
from outtake.notices.models import Notification
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db

W8 = {
    "country": "de",
    "form": "w8ben",
    "legal_name": "Erika Mustermann",
    "address": "Heidestr. 17, Köln",
    "foreign_tax_id": "86095742719",
    "citizenship": "de",
    "date_of_birth": date(1980, 5, 1),
    "treaty_country": "DE",
    "treaty_article": "12(1)",
    "treaty_rate": Decimal("0"),
    "treaty_income_type": "royalties",
    "certified_name": "Erika Mustermann",
}


def test_mask_shows_the_last_four():
    assert mask("DE89 3704 0044 0532 0130 00") == "••••3000"
    assert mask("123") == "•••" and mask("") == ""


def test_tax_profile_is_validated_and_audited_without_ids(people):
    creator = people.creators[0]
    profile = save_tax_profile(creator, W8)
    assert profile.country == "DE" and profile.certified_at is not None
    event = AuditEvent.objects.get(kind="tax_profile.saved")
    assert "86095742719" not in str(event.data)
    again = save_tax_profile(creator, {**W8, "foreign_tax_id": ""})  # empty keeps the id
    assert again.pk == profile.pk and again.foreign_tax_id == "86095742719"
    for bad, why in [
        ({"country": "Germany"}, "two-letter"),
        ({"country": "US"}, "use a W-9"),
        ({"date_of_birth": None}, "date of birth"),
        ({"certified_name": ""}, "certification"),
        ({"form": "w9", "country": "US", "tax_id": "12-34"}, "9-digit"),
        ({"citizenship": ""}, "citizenship"),
        ({"citizenship": "Deutsch"}, "citizenship: a two-letter"),
        ({"treaty_rate": None}, "treaty claim also needs: rate"),
        ({"treaty_income_type": ""}, "also needs: income type"),
        ({"treaty_rate": Decimal("101")}, "from 0 to 100"),
        ({"treaty_country": "FR"}, "country of tax residence"),
        # Only a W-8BEN makes a treaty claim: a W-9 or no form with one is refused.
        (
            {
                "form": "w9",
                "country": "US",
                "tax_id": "123456789",
                "tax_classification": "individual",
            },
            "treaty claim is made on a W-8BEN",
        ),
        ({"form": "", "treaty_rate": None}, "treaty claim is made on a W-8BEN"),
        ({"form": "w9", "country": "US", "tax_id": "123456789"}, "classification"),
        ({"tax_classification": "sole trader"}, "tax classification"),
    ]:
        with pytest.raises(LedgerError, match=why):
            save_tax_profile(creator, {**W8, **bad})
    with pytest.raises(PermissionError):
        save_tax_profile(people.buyer, W8)


def test_w8ben_and_w9_fields_are_kept_and_exported(client, people):
    w8, w9 = people.creators
    save_tax_profile(w8, W8)
    save_tax_profile(
        w9,
        {
            "country": "US",
            "form": "w9",
            "legal_name": "Pat Doe",
            "business_name": "Doe Aerials",
            "tax_classification": "llc_p",
            "tax_id": "12-3456789",
            "certified_name": "Pat Doe",
        },
    )
    year = timezone.now().year
    head = list(csv.reader(io.StringIO(yearly_export_csv(w8.organization, year))))[:6]
    assert ["# W-8BEN citizenship", "DE"] in head
    assert ["# treaty claim", "DE", "12(1)", "0.00%", "royalties"] in head
    head = list(csv.reader(io.StringIO(yearly_export_csv(w9.organization, year))))[:6]
    assert ["# W-9", "LLC taxed as a partnership", "Doe Aerials"] in head
    assert ["# tax ids", "Pat Doe", "12-3456789", ""] in head
    client.force_login(w8)
    page = client.get("/earnings/tax/").content.decode()
    for name in ("citizenship", "treaty_rate", "treaty_income_type", "tax_classification"):
        assert f'name="{name}"' in page
    assert 'value="royalties"' in page
    posted = client.post(
        "/earnings/tax/",
        {**W8, "save": "tax", "treaty_rate": "15", "date_of_birth": "1980-05-01"},
    )
    assert posted.status_code == 302
    assert TaxProfile.objects.get(organization=w8.organization).treaty_rate == Decimal("15")


def test_a_treaty_claim_without_a_rate_is_exported_without_one(people):
    """A profile saved before claims were checked on every form: the accountant's file shows
    an empty rate, never "None%"."""
    creator = people.creators[0]
    TaxProfile.objects.create(
        organization=creator.organization,
        country="US",
        form="w9",
        legal_name="Pat Doe",
        tax_id="123456789",
        tax_classification="individual",
        treaty_country="US",
    )
    export = yearly_export_csv(creator.organization, timezone.now().year)
    assert "None" not in export
    head = list(csv.reader(io.StringIO(export)))[:6]
    assert ["# treaty claim", "US", "", "", ""] in head


def test_payout_destination(people):
    creator = people.creators[0]
    with pytest.raises(LedgerError, match="acct_"):
        save_payout_destination(creator, {"stripe_account": "me@stripe"})
    with pytest.raises(LedgerError, match="holder"):
        save_payout_destination(creator, {"bank_account": "DE89370400440532013000"})
    dest = save_payout_destination(
        creator, {"holder_name": "E M", "bank_account": "", "stripe_account": "acct_1Abc"}
    )
    assert dest.bank_account == "DE89370400440532013000"  # kept from the fixture
    assert PayoutDestination.objects.count() == 2


def test_withholding_per_profile_with_the_setting_as_default(people):
    taxed, other = people.creators
    TaxProfile.objects.create(
        organization=taxed.organization, country="XX", legal_name="T", withholding_rate="0.30"
    )
    with override_settings(OUTTAKE_WITHHOLDING_RATE="0.10"):
        assert withholding_rate(taxed.organization) == Decimal("0.30")
        assert withholding_rate(other.organization) == Decimal("0.10")
        pay(sell(people.buyer, [(taxed, 2000), (other, 2000)]), people.reviewer)
        report = run_payouts()
    by = {p.creator: p for p in report.sent}
    assert by[taxed.organization].withholding_minor == 510  # 30 % of 17.00
    assert by[other.organization].withholding_minor == 170
    assert trial_balance() == {"USD": 0}


def test_a_withholding_rate_of_one_or_more_is_refused_everywhere(client, people):
    creator = people.creators[0]
    profile = save_tax_profile(creator, W8)
    # The service: only a reviewer, only 0 <= rate < 1.
    for bad in (Decimal("1"), Decimal("1.5"), Decimal("-0.01")):
        with pytest.raises(LedgerError, match="below 1"):
            set_withholding_rate(profile, bad, by=people.reviewer)
    with pytest.raises(PermissionError):
        set_withholding_rate(profile, Decimal("0.1"), by=creator)
    # The database refuses it too, whoever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxProfile.objects.filter(pk=profile.pk).update(withholding_rate=Decimal("1"))
    # The admin form shows the error and changes nothing.
    client.force_login(people.reviewer)
    url = f"/admin/ledger/taxprofile/{profile.pk}/change/"
    page = client.post(url, {"withholding_rate": "1.0000"}).content.decode()
    assert "below 1" in page
    profile.refresh_from_db()
    assert profile.withholding_rate is None
    assert not AuditEvent.objects.filter(kind="tax_profile.withholding_rate").exists()


def test_a_reviewers_rate_change_is_audited_and_the_creator_told(client, people):
    creator = people.creators[0]
    profile = save_tax_profile(creator, W8)
    client.force_login(people.reviewer)
    url = f"/admin/ledger/taxprofile/{profile.pk}/change/"
    assert client.post(url, {"withholding_rate": "0.15"}).status_code == 302
    profile.refresh_from_db()
    assert profile.withholding_rate == Decimal("0.15")
    event = AuditEvent.objects.get(kind="tax_profile.withholding_rate")
    assert event.data == {"old": None, "new": "0.15"} and event.actor_id == people.reviewer.pk
    assert "15.00%" in Notification.objects.get(user=creator, kind="tax.withholding").subject
    set_withholding_rate(profile, None, by=people.reviewer)
    assert AuditEvent.objects.filter(kind="tax_profile.withholding_rate").count() == 2


def test_tax_page_masks_and_saves(client, people):
    creator = people.creators[0]
    save_tax_profile(creator, W8)
    client.force_login(creator)
    page = client.get("/earnings/tax/").content.decode()
    assert "86095742719" not in page and "DE89370400440532013000" not in page
    assert "••••2719" in page and "••••3000" in page and "0.00%" in page
    response = client.post(
        "/earnings/tax/",
        {"save": "destination", "holder_name": "E", "stripe_account": "acct_9Z"},
    )
    assert response.status_code == 302
    assert PayoutDestination.objects.get(organization=creator.organization).stripe_account
    bad = client.post("/earnings/tax/", {"save": "tax", **W8, "country": "D1"})
    assert "two-letter" in bad.content.decode()
    client.force_login(people.buyer)
    assert client.get("/earnings/tax/").status_code == 403


@override_settings(OUTTAKE_WITHHOLDING_RATE="0.24")
def test_yearly_export_adds_up(client, people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    run_payouts()
    refunded = sell(people.buyer, [(creator, 1000)])
    pay(refunded, people.reviewer)
    refund(refunded, reason="test", by=people.reviewer)
    year = timezone.now().year
    rows = list(csv.reader(io.StringIO(yearly_export_csv(creator.organization, year))))
    header = rows[1]
    total = dict(zip(header, rows[-1], strict=True))
    assert total["month"] == "total"
    assert (total["sales_gross"], total["outtake_fees"], total["creator_share"]) == (
        "30.00",
        "4.50",
        "25.50",
    )
    assert (total["refunds"], total["earnings_net"]) == ("-8.50", "17.00")
    assert (total["payouts_gross"], total["tax_withheld"], total["payouts_net"]) == (
        "17.00",
        "4.08",
        "12.92",
    )
    client.force_login(creator)
    response = client.get(f"/earnings/tax/{year}.csv")
    assert response["Content-Type"] == "text/csv" and b"total" in response.content
