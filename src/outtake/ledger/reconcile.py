"""Bank statement import: match incoming transfers to invoices, list what does not match.

Statements arrive as CSV (parse_csv) or ISO 20022 camt.053 XML (camt.parse_camt053); both
give the same StatementLines, matched here by one matcher.

Each line is stored once under the bank's transaction id (a unique column), so importing the
same statement twice, even at the same moment, records each payment once.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from outtake.audit.services import record
from outtake.core.money import MINOR_UNITS, Money
from outtake.ledger.models import BankLine, Invoice
from outtake.ledger.services import LedgerError, receive_credit

COLUMNS = ("date", "amount", "currency", "reference", "counterparty", "bank_transaction_id")
# Banks mangle references: "OUT-000123", "out 123", "OUT000123 thanks" all mean invoice 123.
INVOICE_REF = re.compile(r"\bOUT[-\s]?0*(\d{1,9})\b", re.IGNORECASE)


class StatementError(LedgerError):
    pass


@dataclass(frozen=True)
class StatementLine:
    booked_on: date
    amount: Money
    reference: str
    counterparty: str
    bank_transaction_id: str


@dataclass
class ImportReport:
    matched: list[tuple[StatementLine, str]] = field(default_factory=list)  # (line, invoice)
    unmatched: list[tuple[StatementLine, str]] = field(default_factory=list)  # (line, reason)
    already_imported: list[StatementLine] = field(default_factory=list)
    credited: list[tuple[StatementLine, str]] = field(default_factory=list)  # (line, reason)


def parse_csv(text: str) -> list[StatementLine]:
    """Read a statement CSV with a header row naming COLUMNS (any order, extra columns ignored)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = set(COLUMNS) - {(h or "").strip().lower() for h in reader.fieldnames or []}
    if missing:
        raise StatementError(f"statement lacks columns: {', '.join(sorted(missing))}")
    lines = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            currency = row["currency"].upper()
            if currency not in MINOR_UNITS:
                raise ValueError(f"unknown currency {currency!r}")
            if not row["bank_transaction_id"]:
                raise ValueError("no bank transaction id")
            lines.append(
                StatementLine(
                    booked_on=date.fromisoformat(row["date"]),
                    amount=money_from_text(row["amount"], currency),
                    reference=row["reference"],
                    counterparty=row["counterparty"],
                    bank_transaction_id=row["bank_transaction_id"],
                )
            )
        except (ValueError, InvalidOperation) as exc:
            raise StatementError(f"line {n}: {exc}") from exc
    return lines


def money_from_text(text: str, currency: str) -> Money:
    amount = Decimal(text.replace(",", ""))
    money = Money.from_decimal(amount, currency)
    if money.to_decimal() != amount:
        raise ValueError(
            f"{text} has more decimals than {currency} allows ({MINOR_UNITS[currency]})"
        )
    return money


def import_statement(lines: list[StatementLine], *, by) -> ImportReport:
    """Record every line; a line quoting an open invoice pays it, in full or in part."""
    if not by.is_reviewer:
        raise PermissionError("only reviewers import bank statements")
    report = ImportReport()
    for line in lines:
        _import_line(line, by, report)
    record(
        "statement.imported",
        actor=by,
        data={
            "lines": len(lines),
            "matched": [inv for _, inv in report.matched],
            "unmatched": len(report.unmatched),
            "credited": len(report.credited),
            "already_imported": len(report.already_imported),
        },
    )
    return report


def _import_line(line: StatementLine, by, report: ImportReport) -> None:
    from outtake.market.services import mark_paid

    # One transaction per line: a line that fails leaves the others imported.
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = BankLine.objects.create(
                    bank_transaction_id=line.bank_transaction_id,
                    booked_on=line.booked_on,
                    amount_minor=line.amount.minor,
                    currency=line.amount.currency,
                    reference=line.reference[:300],
                    counterparty=line.counterparty[:200],
                    status=BankLine.Status.UNMATCHED,
                    imported_by=by,
                )
        except IntegrityError:
            # On PostgreSQL a concurrent import of the same line waits on the unique index
            # and lands here once the first one commits.
            report.already_imported.append(line)
            return
        invoice, reason = _match(line)
        if invoice is not None and invoice.status == Invoice.Status.OPEN:
            try:
                with transaction.atomic():
                    mark_paid(
                        invoice,
                        amount_minor=line.amount.minor,
                        reference=f"{line.reference} [{line.bank_transaction_id}]",
                        by=by,
                    )
            except LedgerError as exc:  # paid meanwhile, by hand or by another line
                invoice.refresh_from_db()
                reason = str(exc)
            else:
                row.status, row.invoice = BankLine.Status.MATCHED, invoice
                row.payment = invoice.payments.latest("id")
                row.save(update_fields=["status", "invoice", "payment"])
                report.matched.append((line, invoice.label))
                return
        if invoice is not None and invoice.status != Invoice.Status.OPEN:
            # Paid twice (or by card as well): the money is the buyer's, held as credit.
            receive_credit(
                invoice,
                line.amount,
                reference=f"{line.reference} [{line.bank_transaction_id}]",
                by=by,
                idempotency_key=f"bank-credit:{line.bank_transaction_id}",
            )
            reason = f"{invoice.label} is already {invoice.status}: held as the buyer's credit"
            row.status, row.invoice, row.reason = BankLine.Status.CREDITED, invoice, reason
            row.save(update_fields=["status", "invoice", "reason"])
            report.credited.append((line, reason))
            return
        row.reason = reason[:300]
        row.save(update_fields=["reason"])
        report.unmatched.append((line, reason))


def _match(line: StatementLine) -> tuple[Invoice | None, str]:
    """The invoice a line quotes (an open one it pays in full or in part; one no longer open
    gets the money as its buyer's credit), or the reason there is none."""
    if line.amount.minor <= 0:
        return None, "outgoing or zero amount"
    numbers = {int(n) for n in INVOICE_REF.findall(line.reference)}
    if not numbers:
        return None, "no invoice number in the reference"
    if len(numbers) > 1:
        return None, "several invoice numbers in one reference; split it by hand"
    invoice = Invoice.objects.filter(number=numbers.pop()).first()
    if invoice is None:
        return None, "no invoice with that number"
    if invoice.currency != line.amount.currency:
        return None, (
            f"{invoice.label} is for {Money(invoice.amount_minor, invoice.currency)}, "
            f"received {line.amount}"
        )
    # Less than due is a part payment, more leaves the buyer a credit: record_payment decides.
    return invoice, ""
