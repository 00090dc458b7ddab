"""A creator's statement for a period, built from the ledger's own postings so it always
matches the books: opening balance + the period's lines = closing balance.

The balance is what Outtake owes the creator: pending + payable shares, less any clawback
owed back from refunds after payout (so it can be negative).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string

from outtake.audit.services import latest_head
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Account, JournalEntry, Payout, Posting, StoredStatement
from outtake.ledger.pools import pool_formula
from outtake.ledger.sale_status import sale_statuses
from outtake.ledger.services import LedgerError
from outtake.notices.services import notify_org
from outtake.storage import get_store


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str  # sale, refund, cancelled, payout, payout reversal, clawback recovered, adjustment
    amount: Money  # change of the creator's balance (0 for clawback recoveries)
    description: str
    invoice: str = ""
    license_id: str = ""
    buyer: str = ""
    clips: int = 0
    minutes: Decimal = Decimal(0)
    gross: Money | None = None  # sales: the price of this creator's clips
    fee: Money | None = None  # sales: Outtake's fee on them
    withholding: Money | None = None  # payouts: tax withheld
    status: str = ""  # sales: pending / payable / paid / refunded; payouts: provider status
    price_lines: tuple[tuple[str, Money], ...] = ()  # sales: the rate card's lines, summed
    pool: str = ""  # sales of a pooled collection: the creator's part and the formula


@dataclass
class Statement:
    creator: str  # pseudonym
    currency: str
    start: datetime
    end: datetime
    opening: Money
    closing: Money
    pending: Money  # at the end of the period
    payable: Money
    clawback: Money
    lines: list[StatementLine] = field(default_factory=list)
    # The audit chain's head when the statement was made, and its last signed checkpoint
    # (audit.services.latest_head): a later rewrite of history shows against them.
    audit_head: str = ""
    audit_events: int = 0
    audit_checkpoint: dict | None = None

    def of_kind(self, kind: str) -> list[StatementLine]:
        return [ln for ln in self.lines if ln.kind == kind]


def month(year: int, month_: int) -> tuple[datetime, datetime]:
    start = datetime(year, month_, 1, tzinfo=UTC)
    end = datetime(year + month_ // 12, month_ % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period(
    month_: str = "", start: str = "", end: str = "", now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[start, end) from "YYYY-MM", or from two dates (end inclusive, as people write it);
    the current month by default."""
    try:
        if start or end:
            first = datetime.fromisoformat(start).replace(tzinfo=UTC)
            last = datetime.fromisoformat(end).replace(tzinfo=UTC)
            if last < first:
                raise LedgerError("the period ends before it starts")
            return first, last + timedelta(days=1)
        if month_:
            year, m = (int(part) for part in month_.split("-"))
            return month(year, m)
    except ValueError as exc:
        raise LedgerError(f"not a month (YYYY-MM) or dates (YYYY-MM-DD): {exc}") from exc
    now = now or datetime.now(UTC)
    return month(now.year, now.month)


def _sum(qs) -> int:
    return int(qs.aggregate(s=Sum("amount_minor"))["s"] or 0)


def statement(org, start: datetime, end: datetime, currency: str = "USD") -> Statement:
    """The creator's statement for [start, end)."""
    pending, payable, clawback = (
        chart.creator_pending(org, currency),
        chart.creator_payable(org, currency),
        chart.creator_clawback(org, currency),
    )
    mine = Posting.objects.filter(account__in=[pending, payable, clawback])

    def owed_at(t: datetime) -> Money:
        return Money(-_sum(mine.filter(entry__at__lt=t)), currency)

    by_account = {
        acc.pk: _sum(mine.filter(account=acc, entry__at__lt=end))
        for acc in (pending, payable, clawback)
    }
    sales_status = sale_statuses(org, currency, end)
    in_period = Q(at__gte=start, at__lt=end)
    # A sale whose share rounds to 0 (a small part of a pooled collection) posts nothing for
    # the creator: it is listed all the same, at 0.00, with its pool formula.
    unposted = Q(kind="sale", license__currency=currency, license__items__creator=org) & ~Q(
        postings__account=pending
    )
    entries = (
        JournalEntry.objects.filter(in_period & (Q(postings__in=mine) | unposted))
        .distinct()
        .select_related("license__buyer", "license__invoice")
        .order_by("at", "id")
    )
    lines = []
    for entry in entries:
        own = [p for p in entry.postings.all() if p.account_id in by_account]
        amount = Money(-sum(p.amount_minor for p in own), currency)
        line = _line(entry, own, amount, org, currency, sales_status, clawback.pk)
        if line is not None:
            lines.append(line)
    head = latest_head()
    return Statement(
        audit_head=head["head"],
        audit_events=head["count"],
        audit_checkpoint=head["checkpoint"],
        creator=org.pseudonym,
        currency=currency,
        start=start,
        end=end,
        opening=owed_at(start),
        closing=owed_at(end),
        pending=Money(-by_account[pending.pk], currency),
        payable=Money(-by_account[payable.pk], currency),
        clawback=Money(by_account[clawback.pk], currency),
        lines=lines,
    )


def _license_facts(entry: JournalEntry, org) -> dict:
    lic = entry.license
    invoice = getattr(lic, "invoice", None)
    items = list(lic.items.filter(creator=org).select_related("clip"))
    seconds = sum(i.clip.duration_s or 0 for i in items)
    return {
        "price_lines": _price_lines(items, lic.currency),
        "pool": pool_formula(items[0].price_lines) if items else "",
        "invoice": invoice.label if invoice else "",
        "license_id": str(lic.id),
        "buyer": lic.buyer.name_for_creators,
        "clips": len(items),
        "minutes": (Decimal(str(seconds)) / 60).quantize(Decimal("0.01")),
        "gross_minor": sum(i.price_minor for i in items),
    }


def _price_lines(items, currency: str) -> tuple[tuple[str, Money], ...]:
    """The price lines of a creator's clips in one sale, summed per rate-card line."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        for pl in item.price_lines:
            key = (pl["kind"], pl["code"])
            sums[key] += pl["amount"]["minor"]
            labels[key].append(pl["label"])
    return tuple(
        (
            labels[k][0] if len(labels[k]) == 1 else f"{k[1]} ({k[0]}, {len(labels[k])} clips)",
            Money(total, currency),
        )
        for k, total in sums.items()
    )


def _line(entry, own, amount, org, currency, sales_status, clawback_pk) -> StatementLine | None:
    if entry.kind == "sale":
        facts = _license_facts(entry, org)
        gross = Money(facts.pop("gross_minor"), currency)
        return StatementLine(
            at=entry.at,
            kind="sale",
            amount=amount,
            description=f"Sale {facts['invoice']}",
            gross=gross,
            fee=gross - amount,
            status=sales_status.get(entry.license_id, "pending"),
            **facts,
        )
    if entry.kind in ("refund", "void"):
        facts = _license_facts(entry, org)
        facts.pop("gross_minor")
        facts.pop("price_lines")
        facts.pop("pool")
        if entry.kind == "void":
            return StatementLine(
                at=entry.at,
                kind="cancelled",
                amount=amount,
                description=f"Invoice {facts['invoice']} cancelled before it was paid",
                **facts,
            )
        owed = sum(p.amount_minor for p in own if p.account_id == clawback_pk)
        note = f"; {Money(owed, currency)} already paid out, owed back" if owed else ""
        return StatementLine(
            at=entry.at,
            kind="refund",
            amount=amount,
            description=f"Refund {facts['invoice']}{note}",
            **facts,
        )
    if entry.kind in ("payout", "payout.reversal"):
        payout = Payout.objects.filter(Q(entry=entry) | Q(reversal=entry)).first()
        reversal = entry.kind == "payout.reversal"
        return StatementLine(
            at=entry.at,
            kind="payout reversal" if reversal else "payout",
            amount=amount,
            description=(
                f"Payout {payout.pk} failed ({payout.error}); back in your balance"
                if reversal
                else f"Payout {payout.pk} ({payout.provider}) {payout.provider_reference}"
            ),
            # A reversed payout's tax was never paid over: its withholding comes back too.
            withholding=Money(
                -payout.withholding_minor if reversal else payout.withholding_minor, currency
            ),
            status=payout.status,
        )
    if entry.kind == "clawback.recovered":
        recovered = -Money(
            sum(p.amount_minor for p in own if p.account_id == clawback_pk), currency
        )
        return StatementLine(
            at=entry.at,
            kind="clawback recovered",
            amount=amount,
            description=f"{recovered} of refunded shares recovered from your earnings",
            gross=recovered,
        )
    if amount.minor == 0:  # payments move a share from pending to payable: shown as status
        return None
    return StatementLine(at=entry.at, kind="adjustment", amount=amount, description=entry.memo)


CSV_COLUMNS = (
    "date",
    "type",
    "invoice",
    "license",
    "buyer",
    "clips",
    "minutes",
    "gross",
    "fee",
    "withholding",
    "amount",
    "status",
    "description",
    "price_lines",
    "pool_formula",
)


def statement_csv(st: Statement) -> str:
    """The statement as CSV, amounts in major units, opening and closing balance included,
    the audit chain head in the last row."""

    def dec(m: Money | None) -> str:
        return "" if m is None else str(m.to_decimal())

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    blank, after = [""] * 8, [""] * 4
    w.writerow([st.start.date().isoformat(), "opening balance", *blank, dec(st.opening), *after])
    for ln in st.lines:
        w.writerow(
            [
                ln.at.date().isoformat(),
                ln.kind,
                ln.invoice,
                ln.license_id,
                ln.buyer,
                ln.clips or "",
                ln.minutes or "",
                dec(ln.gross),
                dec(ln.fee),
                dec(ln.withholding),
                dec(ln.amount),
                ln.status,
                ln.description,
                # "label: amount" per rate-card line, as the PDF lists them
                "; ".join(f"{label}: {dec(amount)}" for label, amount in ln.price_lines),
                ln.pool,
            ]
        )
    w.writerow([st.end.date().isoformat(), "closing balance", *blank, dec(st.closing), *after])
    w.writerow(audit_row(st))
    return out.getvalue()


def audit_row(st: Statement) -> list:
    """The CSV's footer: the audit chain head and the last signed checkpoint, so a copy of
    the statement can be checked against the chain later (`outtake check`)."""
    cp = st.audit_checkpoint or {}
    return [
        "# audit chain",
        st.audit_head,
        st.audit_events,
        "checkpoint",
        cp.get("at", ""),
        cp.get("count", ""),
        cp.get("head", ""),
        cp.get("signature", ""),
    ]


def statement_pdf(st: Statement) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    share = f"{settings.RATE_CARD.creator_share * 100:.0f}"
    html = render_to_string("ledger/statement_pdf.html", {"st": st, "share_percent": share})
    return HTML(string=html).write_pdf()


def previous_month(now: datetime) -> tuple[int, int]:
    return (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)


def _creator_currencies() -> list[tuple]:
    """Every (creator organization, currency) with a creator account in the ledger."""
    pairs = {}
    for acc in Account.objects.filter(
        Q(code__startswith=chart.PENDING)
        | Q(code__startswith=chart.PAYABLE)
        | Q(code__startswith=chart.CLAWBACK)
    ).select_related("organization"):
        pairs[(acc.organization_id, acc.currency)] = (acc.organization, acc.currency)
    return list(pairs.values())


def issue_monthly_statements(year: int, month_: int) -> list[StoredStatement]:
    """Store every creator's statement for the month (PDF and CSV) and tell them; creators
    with no balance and no activity get none. Safe to run again: issued ones are kept."""
    start, end = month(year, month_)
    issued = []
    for org, currency in _creator_currencies():
        if StoredStatement.objects.filter(
            organization=org, currency=currency, start=start, end=end
        ).exists():
            continue
        st = statement(org, start, end, currency)
        if not st.lines and not st.opening.minor:
            continue
        prefix = f"statements/{org.id}/{year:04d}-{month_:02d}-{currency}"
        store = get_store()
        store.put_bytes(f"{prefix}.pdf", statement_pdf(st))
        store.put_bytes(f"{prefix}.csv", statement_csv(st).encode())
        try:
            with transaction.atomic():
                row = StoredStatement.objects.create(
                    organization=org,
                    currency=currency,
                    start=start,
                    end=end,
                    opening_minor=st.opening.minor,
                    closing_minor=st.closing.minor,
                    audit_head=st.audit_head,
                    pdf_key=f"{prefix}.pdf",
                    csv_key=f"{prefix}.csv",
                )
        except IntegrityError:  # a concurrent run issued it first (same blobs, same content)
            continue
        notify_org(
            org,
            "statement",
            f"Your statement for {year:04d}-{month_:02d}: closing balance {st.closing}",
            f"{len(st.lines)} line(s): sales, refunds and payouts of the month, as PDF and CSV.",
            f"/earnings/statements/{row.pk}.pdf",
        )
        issued.append(row)
    return issued
