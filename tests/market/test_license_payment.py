"""The buyer's license page and invoice PDF after a part payment: what is still due, how to
pay it (bank transfer or card), and the invoice to download."""

import io

import pytest
from django.test import override_settings
from pypdf import PdfReader

from outtake.ledger.invoices import AGENCY_NOTE
from outtake.ledger.services import refund
from outtake.market import services as market
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def part_paid(make_user):
    creator, buyer, reviewer = make_user("creator"), make_user("buyer"), make_user("reviewer")
    ready_clip(creator)
    quote = market.build_quote(market.create_request(buyer, {"budget": "50"}))
    lic = market.accept_quote(buyer, quote)
    invoice = lic.invoice
    assert invoice.amount_minor == 150  # one 1080p minute at 1.50
    market.mark_paid(invoice, amount_minor=100, reference="wire 1", by=reviewer)
    return buyer, lic, invoice


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123", OUTTAKE_CARD_MAX="100")
def test_the_license_page_shows_what_is_due_and_how_to_pay_it(client, part_paid):
    buyer, lic, invoice = part_paid
    client.force_login(buyer)
    page = client.get(f"/licenses/{lic.id}/").content.decode()
    assert "Partial payments are not accepted" not in page
    assert 'id="received">1.00 USD<' in page and 'id="due">0.50 USD<' in page
    assert "transfer <strong>0.50 USD</strong>" in page
    assert f'href="/invoices/{invoice.pk}/pay-by-card/"' in page
    assert f'href="/api/invoices/{invoice.pk}/pdf"' in page
    assert f'href="/api/invoices/{invoice.pk}"' in page
    assert client.get(f"/api/invoices/{invoice.pk}").json()["due"]["minor"] == 50
    with override_settings(OUTTAKE_STRIPE_SECRET_KEY=""):  # no card provider: no card link
        assert "pay-by-card" not in client.get(f"/licenses/{lic.id}/").content.decode()


def test_the_invoice_pdf_shows_the_fee_the_agency_and_what_is_due(client, part_paid):
    buyer, _, invoice = part_paid
    client.force_login(buyer)
    pdf = client.get(f"/api/invoices/{invoice.pk}/pdf").content
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())  # lines wrap where the PDF's layout wraps them
    assert f"Invoice {invoice.label}" in text
    # The creators' 85 % of 1.50 is 1.275, rounded half-even to 1.28; the fee is the rest.
    assert "of which Outtake's fee 0.22 USD" in text
    assert " ".join(AGENCY_NOTE.split()) in text
    assert "Total 1.50 USD" in text and "Received 1.00 USD" in text
    assert "Amount due 0.50 USD" in text
    assert "Pay 0.50 USD by bank transfer" in text


def test_a_refunded_license_says_so_and_why(client, part_paid, make_user):
    buyer, lic, invoice = part_paid
    reviewer = make_user("reviewer")
    market.mark_paid(invoice, amount_minor=50, reference="wire 2", by=reviewer)
    refund(invoice, reason="clip out of focus", by=reviewer)
    client.force_login(buyer)
    page = client.get(f"/licenses/{lic.id}/").content.decode()
    assert 'id="refunded">1.50 USD<' in page and "1.50 USD given back (clip out of focus)" in page
    assert "its packages can no longer be downloaded or pushed" in page
    assert "How to pay" not in page and "pay-by-card" not in page
