"""Statements as a creator sees them: the page, the PDF, the CSV and the monthly issue."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from outtake.audit.models import ChainHead
from outtake.ledger.models import StoredStatement
from outtake.ledger.services import LedgerError
from outtake.ledger.statements import (
    issue_monthly_statements,
    period,
    previous_month,
    statement,
)
from outtake.ledger.tasks import monthly_statements
from outtake.notices.models import Notification
from outtake.storage import get_store
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def line(minor: int, kind: str, code: str, label: str) -> dict:
    return {
        "kind": kind,
        "code": code,
        "label": label,
        "amount": {"minor": minor, "currency": "USD"},
    }


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_period_parsing():
    assert period("2026-02") == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert period(start="2026-01-01", end="2026-12-31")[1] == datetime(2027, 1, 1, tzinfo=UTC)
    assert period(now=datetime(2026, 5, 9, tzinfo=UTC))[0] == datetime(2026, 5, 1, tzinfo=UTC)
    assert previous_month(datetime(2026, 1, 3, tzinfo=UTC)) == (2025, 12)
    with pytest.raises(LedgerError):
        period("May")
    with pytest.raises(LedgerError):
        period(start="2026-02-01", end="2026-01-01")


def test_sale_lines_carry_price_lines_and_the_audit_head(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 150), (creator, 250)])
    for item, extra in zip(invoice.license.items.all(), (0, 100), strict=True):
        item.price_lines = [line(150, "base", "1080p", f"1080p, 1.00 min × 1.50/min #{extra}")]
        item.price_lines += [line(extra, "premium", "drone", "Drone +1.00/min")] if extra else []
        item.save()
    pay(invoice, people.reviewer)
    now = timezone.now()
    st = statement(creator.organization, now - timedelta(days=1), now + timedelta(days=1))
    [sale] = st.of_kind("sale")
    assert [(label, m.minor) for label, m in sale.price_lines] == [
        ("1080p (base, 2 clips)", 300),
        ("Drone +1.00/min", 100),
    ]
    assert st.audit_head == ChainHead.objects.get().hash and st.audit_events > 0


def test_statement_page_pdf_and_csv(client, people):
    creator, other = people.creators
    invoice = sell(people.buyer, [(creator, 2000), (other, 900)])
    pay(invoice, people.reviewer)
    client.force_login(creator)
    page = text(client.get("/earnings/statement/"))
    assert invoice.label in page and "Opening balance" in page and "17.00 USD" in page
    assert people.buyer.organization.name_for_creators in page
    assert ChainHead.objects.get().hash in page
    assert " 9.00 USD" not in page and "7.65 USD" not in page  # the other creator's part
    csv = client.get("/earnings/statement/?format=csv")
    assert csv["Content-Type"] == "text/csv" and invoice.label in csv.content.decode()
    pdf = client.get(f"/earnings/statement/?month={timezone.now():%Y-%m}&format=pdf")
    assert pdf.content.startswith(b"%PDF")
    assert client.get("/earnings/statement/?month=nonsense").status_code == 400
    client.force_login(people.buyer)
    assert client.get("/earnings/statement/").status_code == 403


def test_monthly_statements_are_issued_once_and_told(client, people):
    creator, other = people.creators
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    now = timezone.now()
    [row] = issue_monthly_statements(now.year, now.month)
    assert row.organization == creator.organization and row.closing_minor == 1700
    assert get_store().get_bytes(row.pdf_key).startswith(b"%PDF")
    assert issue_monthly_statements(now.year, now.month) == []
    assert Notification.objects.filter(user=creator, kind="statement").count() == 1
    assert not Notification.objects.filter(user=other, kind="statement").exists()
    client.force_login(creator)
    assert f"/earnings/statements/{row.pk}.pdf" in client.get("/earnings/").content.decode()
    assert client.get(f"/earnings/statements/{row.pk}.csv").content.startswith(b"date,type")
    client.force_login(other)
    assert client.get(f"/earnings/statements/{row.pk}.pdf").status_code == 404


def test_the_periodic_task_issues_last_month(people, monkeypatch):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    next_month = timezone.now().replace(day=28) + timedelta(days=5)
    monkeypatch.setattr("outtake.ledger.tasks.timezone.now", lambda: next_month)
    monthly_statements.call_local()
    assert StoredStatement.objects.filter(organization=creator.organization).count() == 1
