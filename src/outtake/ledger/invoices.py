"""Invoices as documents: JSON for buyers' systems and PDF for their accounts payable."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from outtake.core.money import Money
from outtake.ledger.models import Invoice
from outtake.ledger.payments import card_provider, payment_instructions
from outtake.ledger.services import sale_shares

AGENCY_NOTE = (
    "Issued by Outtake as agent, on behalf of the creators listed, who grant the license. "
    "The creators' shares are held as client money and paid to them; Outtake's fee, shown "
    "separately, is Outtake's only revenue from this invoice."
)


def _money(m: Money) -> dict[str, Any]:
    return {"minor": m.minor, "currency": m.currency, "display": str(m)}


def invoice_document(invoice: Invoice) -> dict[str, Any]:
    """Everything an invoice says, as plain data (the PDF renders exactly this)."""
    license = invoice.license
    currency = invoice.currency
    shares, fee = sale_shares(license)
    per_creator: dict = defaultdict(lambda: {"clips": 0, "seconds": 0.0, "gross": 0})
    for item in license.items.select_related("creator", "clip"):
        row = per_creator[item.creator]
        row["clips"] += 1
        row["seconds"] += item.clip.duration_s or 0
        row["gross"] += item.price_minor
    lines = [
        {
            "creator": org.pseudonym,
            "clips": row["clips"],
            "minutes": round(row["seconds"] / 60, 2),
            "amount": _money(Money(row["gross"], currency)),
            "creator_share": _money(shares.get(org, Money.zero(currency))),
        }
        for org, row in sorted(per_creator.items(), key=lambda kv: kv[0].pseudonym)
    ]
    total = Money(invoice.amount_minor, currency)
    return {
        "number": invoice.label,
        "status": invoice.status,
        "issued_at": invoice.issued_at.isoformat(),
        "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
        "issuer": {"name": "Outtake", "capacity": "agent for the creators", "note": AGENCY_NOTE},
        "buyer": {"name": invoice.buyer.name},
        "license": str(license.id),
        "lines": lines,
        "creators_total": _money(total - fee),
        "outtake_fee": _money(fee),
        "total": _money(total),
        "received": _money(Money(invoice.received_minor, currency)),
        "refunded": _money(Money(invoice.refunded_minor, currency)),
        "due": _money(Money(invoice.due_minor, currency)),
        "payment_instructions": (
            payment_instructions(invoice) if invoice.status == Invoice.Status.OPEN else ""
        ),
    }


def payment_summary(invoice: Invoice) -> dict[str, Any]:
    """What the buyer's license page shows about paying: amounts, the links to the invoice
    document, and the card page when the card provider takes this invoice."""
    currency = invoice.currency
    card = card_provider()
    return {
        "invoice": invoice,
        "amount": Money(invoice.amount_minor, currency),
        "fee": Money(invoice.fee_minor, currency),
        "received": Money(invoice.received_minor, currency),
        "due": Money(invoice.due_minor, currency),
        "refunded": Money(invoice.refunded_minor, currency),
        "refunds": [
            (r.at, Money(r.amount_minor, currency), r.reason) for r in invoice.refunds.all()
        ],
        "pdf_url": reverse("api:invoice_as_pdf", kwargs={"invoice_id": invoice.pk}),
        "json_url": reverse("api:invoice_detail", kwargs={"invoice_id": invoice.pk}),
        "card_url": (
            reverse("pay-by-card", kwargs={"invoice_id": invoice.pk})
            if invoice.status == Invoice.Status.OPEN and not card.cannot_pay(invoice)
            else ""
        ),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    doc = invoice_document(invoice)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
        (
            (ln["creator"], ln["clips"], ln["minutes"], ln["amount"]["display"])
            for ln in doc["lines"]
        ),
    )
    html = format_html(
        """<html><head><style>
        body {{ font-family: sans-serif; font-size: 10pt; }} table {{ width: 100%; }}
        td, th {{ text-align: left; padding: 2pt; }} .n {{ text-align: right; }}
        </style></head><body>
        <h1>Invoice {number}</h1>
        <p>Issued {issued} to {buyer} for license {license}.</p>
        <p><em>{note}</em></p>
        <table><tr><th>Creator</th><th>Clips</th><th>Minutes</th><th class=n>Amount</th></tr>
        {rows}
        <tr><td colspan=3>of which the creators' shares</td><td class=n>{creators}</td></tr>
        <tr><td colspan=3>of which Outtake's fee</td><td class=n>{fee}</td></tr>
        <tr><th colspan=3>Total</th><th class=n>{total}</th></tr>
        <tr><td colspan=3>Received</td><td class=n>{received}</td></tr>
        {refunded}
        <tr><th colspan=3>Amount due</th><th class=n>{due}</th></tr></table>
        <p>Status: {status}.</p>
        <p>{pay}</p></body></html>""",
        number=doc["number"],
        issued=doc["issued_at"][:10],
        buyer=doc["buyer"]["name"],
        license=doc["license"],
        note=AGENCY_NOTE,
        rows=rows,
        creators=doc["creators_total"]["display"],
        fee=doc["outtake_fee"]["display"],
        total=doc["total"]["display"],
        received=doc["received"]["display"],
        refunded=format_html(
            "<tr><td colspan=3>Refunded</td><td class=n>{}</td></tr>", doc["refunded"]["display"]
        )
        if doc["refunded"]["minor"]
        else "",
        due=doc["due"]["display"],
        status=invoice.get_status_display(),
        pay=doc["payment_instructions"],
    )
    return HTML(string=str(html)).write_pdf()
