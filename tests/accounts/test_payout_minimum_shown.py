"""The rate card page and the creator agreement state the payout minimums the ledger applies
(OUTTAKE_PAYOUT_MINIMUMS), not the rate card's default."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from outtake.accounts import services
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db
SET = {"USD": 2500, "JPY": 1500}


def _page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


@override_settings(OUTTAKE_PAYOUT_MINIMUMS=SET)
def test_the_rate_card_page_shows_the_minimums_payouts_use(client):
    page = _page_text(client.get("/rates/"))
    assert "Payouts from a balance of 1,500 JPY, 25.00 USD (the minimum of" in page
    assert "10.00 USD" not in page


@override_settings(OUTTAKE_PAYOUT_MINIMUMS=SET)
def test_the_creator_agreement_states_the_minimums_payouts_use(make_user):
    creator = make_user("creator", agreement=False)
    for pdf in (services.blank_agreement_pdf(), services.current_agreement_pdf(creator)):
        _, text = pdf_text(pdf)
        assert "once the balance payable reaches 1,500 JPY, 25.00 USD (the minimum of" in text
        assert "10.00 USD" not in text


def test_one_currency_reads_as_before(client):
    with override_settings(OUTTAKE_PAYOUT_MINIMUMS={"USD": 700}):
        page = _page_text(client.get("/rates/"))
        _, text = pdf_text(services.blank_agreement_pdf())
    assert "Payouts from a balance of 7.00 USD." in page
    assert "once the balance payable reaches 7.00 USD." in text
