import pytest

from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import BankLine, Invoice, JournalEntry, Payment
from outtake.ledger.reconcile import StatementError, import_statement, parse_csv
from outtake.ledger.services import balance, buyer_credit, trial_balance
from outtake.market.models import License
from tests.ledger.conftest import require_postgres, run_together, sell

HEADER = "date,amount,currency,reference,counterparty,bank_transaction_id\n"


def statement_for(*invoices: Invoice) -> str:
    rows = [
        f"2026-11-0{n + 1},{Money(i.amount_minor).to_decimal()},USD,"
        f"Payment {i.label} thanks,Lab Inc,TX-{i.number}\n"
        for n, i in enumerate(invoices)
    ]
    rows.append("2026-11-09,42.00,USD,no reference at all,Someone,TX-STRAY\n")
    rows.append("2026-11-09,-5.00,USD,bank charges,Bank,TX-FEE\n")
    return HEADER + "".join(rows)


@pytest.mark.django_db
def test_parse_rejects_bad_files():
    with pytest.raises(StatementError, match="lacks columns"):
        parse_csv("date,amount\n2026-01-01,1\n")
    with pytest.raises(StatementError, match="line 2"):
        parse_csv(HEADER + "2026-01-01,1.001,USD,r,c,T1\n")
    with pytest.raises(StatementError, match="no bank transaction id"):
        parse_csv(HEADER + "2026-01-01,1.00,USD,r,c,\n")
    [line] = parse_csv("\ufeff" + HEADER + '2026-01-01,"1,234.50",usd,r,c,T1\n')
    assert line.amount == Money(123450, "USD")


@pytest.mark.django_db
def test_matches_by_label_and_amount_and_lists_the_rest(people):
    c1, c2 = people.creators
    paid = sell(people.buyer, [(c1, 1000)])
    short = sell(people.buyer, [(c2, 2000)])
    text = statement_for(paid).replace("TX-STRAY", "TX-S") + (
        f"2026-11-10,19.99,USD,{short.label.lower().replace('-', ' ')},Lab,TX-SHORT\n"
        "2026-11-10,10.00,USD,OUT-000999,Lab,TX-NONE\n"
    )
    report = import_statement(parse_csv(text), by=people.reviewer)
    # A short transfer is a part payment: matched, the invoice stays open for the rest.
    assert [label for _, label in report.matched] == [paid.label, short.label]
    reasons = {line.bank_transaction_id: reason for line, reason in report.unmatched}
    assert reasons == {
        "TX-S": "no invoice number in the reference",
        "TX-FEE": "outgoing or zero amount",
        "TX-NONE": "no invoice with that number",
    }
    paid.refresh_from_db()
    assert paid.status == Invoice.Status.PAID
    assert License.objects.get(pk=paid.license_id).status == License.Status.PAID
    assert BankLine.objects.get(bank_transaction_id="TX-1").payment == paid.payments.get()
    assert BankLine.objects.filter(status=BankLine.Status.UNMATCHED).count() == 3
    short.refresh_from_db()
    assert (short.status, short.due_minor) == (Invoice.Status.OPEN, 1)
    assert -balance(chart.creator_payable(c1.organization, "USD")).minor == 850
    assert trial_balance() == {"USD": 0}


@pytest.mark.django_db
def test_same_statement_twice_posts_once(people):
    invoices = [sell(people.buyer, [(c, 1000 + n)]) for n, c in enumerate(people.creators)]
    text = statement_for(*invoices)
    first = import_statement(parse_csv(text), by=people.reviewer)
    second = import_statement(parse_csv(text), by=people.reviewer)
    assert len(first.matched) == 2 and len(first.unmatched) == 2
    assert not second.matched and not second.unmatched and len(second.already_imported) == 4
    assert Payment.objects.count() == 2 == JournalEntry.objects.filter(kind="payment").count()
    assert balance(chart.cash("USD")).minor == 2001


@pytest.mark.django_db
def test_a_second_transfer_for_a_paid_invoice_becomes_the_buyers_credit(people):
    invoice = sell(people.buyer, [(people.creators[0], 1000)])
    text = statement_for(invoice)
    import_statement(parse_csv(text), by=people.reviewer)
    again = text.replace("TX-1\n", "TX-1-DUPLICATE\n")
    report = import_statement(parse_csv(again), by=people.reviewer)
    [(line, reason)] = report.credited
    assert line.bank_transaction_id == "TX-1-DUPLICATE"
    assert reason == f"{invoice.label} is already paid: held as the buyer's credit"
    row = BankLine.objects.get(bank_transaction_id="TX-1-DUPLICATE")
    assert (row.status, row.invoice, row.payment) == (BankLine.Status.CREDITED, invoice, None)
    assert balance(chart.cash("USD")).minor == 2000
    assert buyer_credit(people.buyer.organization, "USD").minor == 1000
    assert Payment.objects.count() == 1 and trial_balance() == {"USD": 0}
    # Importing that statement once more changes nothing.
    assert len(import_statement(parse_csv(again), by=people.reviewer).already_imported) == 3
    assert buyer_credit(people.buyer.organization, "USD").minor == 1000


@pytest.mark.django_db
def test_only_reviewers_import(people):
    with pytest.raises(PermissionError):
        import_statement([], by=people.buyer)


@pytest.mark.django_db(transaction=True)
def test_same_statement_imported_twice_at_once_posts_once(people, monkeypatch):
    require_postgres()
    # Package building is not the subject; it would run inline on commit.
    monkeypatch.setattr("outtake.delivery.services.start_delivery", lambda lic: None)
    invoices = [sell(people.buyer, [(c, 1000 + n)]) for n, c in enumerate(people.creators)]
    lines = parse_csv(statement_for(*invoices))
    reports = run_together(
        lambda: import_statement(lines, by=people.reviewer),
        lambda: import_statement(lines, by=people.reviewer),
    )
    assert sum(len(r.matched) for r in reports) == 2
    assert sum(len(r.already_imported) for r in reports) == len(lines)
    assert Payment.objects.count() == 2
    assert BankLine.objects.count() == len(lines)
    assert balance(chart.cash("USD")).minor == 2001
    assert trial_balance() == {"USD": 0}
