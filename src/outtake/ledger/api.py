from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from outtake.accounts.auth import scoped
from outtake.ledger import services
from outtake.ledger.models import Invoice
from outtake.market.services import mark_paid

router = Router(tags=["ledger"])


class InvoiceOut(Schema):
    id: int
    number: str
    license_id: str
    amount_minor: int
    fee_minor: int
    currency: str
    status: str
    issued_at: datetime
    paid_at: datetime | None

    @staticmethod
    def from_invoice(i: Invoice) -> "InvoiceOut":
        return InvoiceOut(
            id=i.id,
            number=i.label,
            license_id=str(i.license_id),
            amount_minor=i.amount_minor,
            fee_minor=i.fee_minor,
            currency=i.currency,
            status=i.status,
            issued_at=i.issued_at,
            paid_at=i.paid_at,
        )


class PaymentIn(Schema):
    amount_minor: int
    reference: str = ""


class EarningsOut(Schema):
    currency: str
    pending_minor: int
    payable_minor: int
    sales: list[dict]


def _invoices(user):
    if user.is_reviewer:
        return Invoice.objects.all()
    return Invoice.objects.filter(buyer=user.organization)


@router.get("/invoices", response=list[InvoiceOut], auth=scoped("read"))
def list_invoices(request):
    return [InvoiceOut.from_invoice(i) for i in _invoices(request.auth)]


@router.post("/invoices/{int:invoice_id}/payments", response={201: InvoiceOut}, auth=scoped("read"))
def record_payment(request, invoice_id: int, payload: PaymentIn):
    """Reviewers mark a bank transfer received."""
    if not request.auth.is_reviewer:
        raise PermissionError("only reviewers record payments")
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    mark_paid(
        invoice, amount_minor=payload.amount_minor, reference=payload.reference, by=request.auth
    )
    invoice.refresh_from_db()
    return 201, InvoiceOut.from_invoice(invoice)


@router.get("/earnings", response=EarningsOut, auth=scoped("read"))
def earnings(request):
    if not request.auth.is_creator:
        raise PermissionError("earnings are for creators")
    e = services.creator_earnings(request.auth.organization)
    return EarningsOut(
        currency=e.pending.currency,
        pending_minor=e.pending.minor,
        payable_minor=e.payable.minor,
        sales=[
            {
                **s,
                "at": s["at"].isoformat(),
                "share_minor": s["share"].minor,
                "share": str(s["share"]),
            }
            for s in e.sales
        ],
    )
