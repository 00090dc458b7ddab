from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outtake.core.money import Money
from outtake.ledger.camt import parse_camt053
from outtake.ledger.models import BankLine, Invoice, Payment
from outtake.ledger.reconcile import StatementError, import_statement
from outtake.ledger.services import trial_balance
from tests.ledger.conftest import sell
from tests.ledger.test_api import api

FIXTURE = Path(__file__).parents[1] / "fixtures" / "bank" / "camt053-001-02.xml"
V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def doc(entries: str, ns: str = V08) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        f"<Stmt><Id>S1</Id>{entries}</Stmt></BkToCstmrStmt></Document>"
    )


def entry(amount: str = "5.00", *, ind: str = "CRDT", ref: str = "R1", details: str = "") -> str:
    return (
        f'<Ntry><Amt Ccy="USD">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>'
        "<Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-11T10:00:00+01:00</DtTm></BookgDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls>{details}</NtryDtls></Ntry>"
    )


def test_reads_the_booked_entries_of_a_bank_file():
    lines = parse_camt053(FIXTURE.read_bytes())
    assert [(ln.bank_transaction_id, ln.amount) for ln in lines] == [
        ("2026111100012345", Money(1000, "USD")),
        ("2026111100012399", Money(2550, "USD")),
        ("2026111100099001", Money(-125, "USD")),
        ("2026111100012460", Money(7550, "USD")),
    ]  # the pending fifth entry is not money on the account yet
    assert [ln.reference for ln in lines] == [
        "Invoice OUT-000001 footage license",
        "OUT-000002",
        "Account maintenance fee 10/2026",
        "Data purchase per our e-mail",
    ]
    assert [ln.counterparty for ln in lines] == [
        "Example Vision Lab Inc",
        "Second Model Labs GmbH",
        "Commerzbank AG",
        "Unknown Sender Ltd",
    ]
    assert {ln.booked_on for ln in lines} == {date(2026, 11, 11)}


@pytest.mark.django_db
def test_camt_and_csv_share_one_matcher_and_import_once(people):
    c1, c2 = people.creators
    first = sell(people.buyer, [(c1, 1000)])
    second = sell(people.buyer, [(c2, 2550)])
    xml = FIXTURE.read_text().replace("OUT-000001", first.label).replace("OUT-000002", second.label)
    report = import_statement(parse_camt053(xml), by=people.reviewer)
    assert sorted(label for _, label in report.matched) == sorted([first.label, second.label])
    assert {ln.bank_transaction_id: why for ln, why in report.unmatched} == {
        "2026111100099001": "outgoing or zero amount",
        "2026111100012460": "no invoice number in the reference",
    }
    again = import_statement(parse_camt053(xml), by=people.reviewer)
    assert not again.matched and not again.unmatched and len(again.already_imported) == 4
    assert Payment.objects.count() == 2 and BankLine.objects.count() == 4
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
    assert trial_balance() == {"USD": 0}


@pytest.mark.django_db
def test_api_takes_camt053(people):
    invoice = sell(people.buyer, [(people.creators[0], 1000)])
    xml = FIXTURE.read_text().replace("OUT-000001", invoice.label)
    client = api(people.reviewer)
    report = client.post("/api/bank-statements", {"camt053": xml}, content_type="application/json")
    assert report.json()["matched"] == [
        {"bank_transaction_id": "2026111100012345", "invoice": invoice.label}
    ]
    bad = client.post(
        "/api/bank-statements", {"camt053": "<Document/>"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "camt.053" in bad.json()["detail"]
    both = client.post("/api/bank-statements", {}, content_type="application/json")
    assert both.status_code == 400


def test_batch_booking_gives_one_line_per_transaction():
    tx = (
        '<TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs><Amt Ccy="USD">{amt}</Amt>'
        "<RltdPties><Dbtr><Pty><Nm>{who}</Nm></Pty></Dbtr></RltdPties>"
        "<RmtInf><Ustrd>{ustrd}</Ustrd></RmtInf></TxDtls>"
    )
    details = tx.format(ref="B-1", amt="3.00", who="Lab A", ustrd="OUT-7") + tx.format(
        ref="B-2", amt="2.00", who="Lab B", ustrd="OUT-8"
    )
    a, b = parse_camt053(doc(entry("5.00", ref="BATCH", details=details)))
    assert (a.bank_transaction_id, a.amount, a.counterparty, a.reference) == (
        "B-1",
        Money(300, "USD"),
        "Lab A",
        "OUT-7",
    )
    assert (b.bank_transaction_id, b.amount) == ("B-2", Money(200, "USD"))
    with pytest.raises(StatementError, match="do not add up"):
        parse_camt053(doc(entry("6.00", ref="BATCH", details=details)))


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "OUT-1">]>'
            + doc(entry()).split("?>", 1)[1],
            "DOCTYPE or ENTITY",
        ),
        (doc(entry(), ns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"), "not a camt.053"),
        (doc(entry(), ns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.09"), "not a camt.053"),
        ("<Document", "not well-formed"),
        (doc(entry("1.001")), "entry 1: .*more decimals"),
        (doc(entry(ind="CRED")), "CdtDbtInd"),
        (doc(entry(ref="")), "AcctSvcrRef nor NtryRef"),
        (doc(entry().replace('Ccy="USD"', 'Ccy="XXY"')), "unknown currency"),
        (doc(entry("-5.00")), "unsigned"),
    ],
)
def test_refuses_what_is_not_a_clean_camt053(xml, message):
    with pytest.raises(StatementError, match=message):
        parse_camt053(xml)


def balance(code: str, amount: str, ind: str = "CRDT") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="USD">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd></Bal>'
    )


def test_a_statement_must_add_up_from_opening_to_closing_balance():
    moves = entry("5.00", ref="A") + entry("2.50", ind="DBIT", ref="B")
    ok = doc(balance("OPBD", "1.00", "DBIT") + balance("CLBD", "1.50") + moves)
    assert [line.amount.minor for line in parse_camt053(ok)] == [500, -250]
    short = doc(balance("OPBD", "1.00", "DBIT") + balance("CLBD", "1.50") + entry("5.00"))
    with pytest.raises(StatementError, match=r"do not add up.*closing balance says .*1\.50"):
        parse_camt053(short)  # an entry is missing: nothing of it is imported


def test_refuses_non_utf8_and_huge_files_but_not_a_quiet_day(monkeypatch):
    assert parse_camt053(doc("")) == []  # a statement without movements is valid
    with pytest.raises(StatementError, match="UTF-8"):
        parse_camt053(doc(entry()).replace("R1", "Ré").encode("latin-1"))
    monkeypatch.setattr("outtake.ledger.camt.MAX_BYTES", 10)
    with pytest.raises(StatementError, match="larger than"):
        parse_camt053(doc(entry()))


@pytest.mark.django_db
def test_reviewers_upload_a_statement_in_the_admin(client, people):
    invoice = sell(people.buyer, [(people.creators[0], 1000)])
    xml = FIXTURE.read_text().replace("OUT-000001", invoice.label).encode()
    client.force_login(people.reviewer)
    assert b"/admin/ledger/bankline/import/" in client.get("/admin/ledger/bankline/").content
    page = client.post(
        "/admin/ledger/bankline/import/",
        {"statement": SimpleUploadedFile("camt053.xml", xml, "application/xml")},
    ).content.decode()
    assert f"paid {invoice.label}" in page and "not matched: outgoing or zero amount" in page
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    bad = client.post(
        "/admin/ledger/bankline/import/",
        {"statement": SimpleUploadedFile("s.xml", b'<!DOCTYPE x [<!ENTITY a "b">]><x/>')},
    ).content.decode()
    assert 'id="import-error"' in bad and "DOCTYPE" in bad


@pytest.mark.django_db
def test_operators_import_a_statement_file_from_the_command_line(people, tmp_path):
    from typer.testing import CliRunner

    from outtake.cli import app

    first = sell(people.buyer, [(people.creators[0], 1000)])
    path = tmp_path / "statement.xml"
    path.write_text(FIXTURE.read_text().replace("OUT-000001", first.label))
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["bank", "import", str(path), "--by", people.reviewer.email]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"pays {first.label}" in result.output and "1 matched" in result.output
    assert "4 already imported" in runner.invoke(app, args).output
    first.refresh_from_db()
    assert first.status == Invoice.Status.PAID
    refused = runner.invoke(app, ["bank", "import", str(path), "--by", people.buyer.email])
    assert refused.exit_code == 2 and "not an active reviewer" in refused.output
    path.write_text("<Document")
    broken = runner.invoke(app, ["bank", "import", str(path), "--by", people.reviewer.email])
    assert broken.exit_code == 2 and "not well-formed" in broken.output
