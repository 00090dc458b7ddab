import pytest

from outtake.ledger.invoices import AGENCY_NOTE, invoice_document, invoice_pdf
from outtake.ledger.models import Invoice, InvoiceCounter
from outtake.ledger.services import issue_invoice
from tests.factories import license_for, ready_clip
from tests.ledger.conftest import require_postgres, run_together, sell


@pytest.mark.django_db
def test_numbers_follow_the_counter_without_gaps(people):
    c1, c2 = people.creators
    first = sell(people.buyer, [(c1, 1000)])
    second = sell(people.buyer, [(c2, 500)])
    assert (first.number, second.number) == (1, 2)
    assert second.label == "OUT-000002"
    assert InvoiceCounter.objects.get(name="invoice").next_number == 3


@pytest.mark.django_db
def test_a_failed_issue_takes_no_number(people, monkeypatch):
    from outtake.ledger import services

    sell(people.buyer, [(people.creators[0], 1000)])
    lic = license_for(people.buyer, [(ready_clip(people.creators[0]), 700)])

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        issue_invoice(lic)
    monkeypatch.undo()
    assert issue_invoice(lic).number == 2


@pytest.mark.django_db
def test_document_shows_fee_and_agency(people):
    c1, c2 = people.creators
    invoice = sell(people.buyer, [(c1, 1001), (c2, 2000)])
    doc = invoice_document(invoice)
    assert doc["number"] == invoice.label
    assert doc["issuer"]["note"] == AGENCY_NOTE and "on behalf of the creators" in AGENCY_NOTE
    assert doc["total"]["minor"] == 3001
    assert doc["outtake_fee"]["minor"] == invoice.fee_minor == 3001 - 851 - 1700
    assert doc["creators_total"]["minor"] + doc["outtake_fee"]["minor"] == 3001
    assert sum(ln["amount"]["minor"] for ln in doc["lines"]) == 3001
    assert {ln["creator"] for ln in doc["lines"]} == {
        c1.organization.pseudonym,
        c2.organization.pseudonym,
    }
    assert all(ln["clips"] == 1 and ln["minutes"] == 1.0 for ln in doc["lines"])
    assert invoice.label in doc["payment_instructions"]


@pytest.mark.django_db
def test_pdf_renders(people):
    invoice = sell(people.buyer, [(people.creators[0], 1000)])
    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_consecutive_numbers(people):
    require_postgres()
    creator = people.creators[0]
    licenses = [license_for(people.buyer, [(ready_clip(creator), 100 + i)]) for i in range(4)]
    invoices = run_together(*(lambda lic=lic: issue_invoice(lic) for lic in licenses))
    assert sorted(i.number for i in invoices) == [1, 2, 3, 4]
    assert Invoice.objects.count() == 4
