from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.core.money import Money
from outtake.ledger import charts, offers, tax
from outtake.ledger import price_index as pi
from outtake.ledger.forms import PayoutDestinationForm, TaxProfileForm
from outtake.ledger.insights import earnings_overview
from outtake.ledger.models import (
    Collection,
    Invoice,
    PayoutDestination,
    StoredStatement,
    TaxProfile,
)
from outtake.ledger.payments import card_provider
from outtake.ledger.payouts import payout_minimum
from outtake.ledger.pools import FORMULA
from outtake.ledger.services import LedgerError, creator_earnings
from outtake.ledger.statements import period, statement, statement_csv, statement_pdf
from outtake.market.services import MarketError, quote_collection
from outtake.storage import get_store


def _share_percent() -> str:
    return f"{settings.RATE_CARD.creator_share * 100:.0f}"


@role_required(User.Role.CREATOR)
def earnings(request: HttpRequest) -> HttpResponse:
    card = settings.RATE_CARD
    org = request.user.organization
    return render(
        request,
        "ledger/earnings.html",
        {
            "earnings": creator_earnings(org, card.currency),
            "payout_minimum": payout_minimum(card.currency),
            "share_percent": _share_percent(),
            "statements": StoredStatement.objects.filter(organization=org)[:24],
            "charts": _charts(org, card.currency),
        },
    )


def _charts(org, currency: str) -> dict[str, str]:
    o = earnings_overview(org, currency)
    months = [m[2:] for m in o.months]  # "26-05": twelve labels fit under the bars

    def money(v: float) -> str:
        return str(Money(int(v), currency))

    def minutes(v: float) -> str:
        return f"{v:,.1f} min"

    svgs = {
        "earned": charts.columns(
            "Your earnings per month",
            [(m, [e.minor]) for m, e in zip(months, o.earned, strict=True)],
            money,
        ),
        "minutes": charts.columns(
            "Minutes sold versus uploaded per month",
            [
                (m, [s, u])
                for m, s, u in zip(months, o.minutes_sold, o.minutes_uploaded, strict=True)
            ],
            minutes,
            legend=("sold", "uploaded"),
        ),
        "tiers": charts.rows("Sales by tier", [(t, v.minor) for t, v in o.by_tier], money),
        "clips": charts.rows(
            "Your top-earning clips", [(n, v.minor) for n, v in o.top_clips], money
        ),
    }
    # The SVG is built from escaped text only (see charts.py).
    return {name: mark_safe(svg) for name, svg in svgs.items()}


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(User.Role.CREATOR)
def statement_page(request: HttpRequest) -> HttpResponse:
    """A statement on demand: ?month=YYYY-MM or ?from=…&to=… dates; &format=pdf or csv."""
    q = request.GET
    start, end = period(q.get("month", ""), q.get("from", ""), q.get("to", ""))
    st = statement(request.user.organization, start, end, settings.RATE_CARD.currency)
    name = f"outtake-statement-{start:%Y-%m-%d}"
    if q.get("format") == "csv":
        return _download(statement_csv(st).encode(), "text/csv", f"{name}.csv")
    if q.get("format") == "pdf":
        return _download(statement_pdf(st), "application/pdf", f"{name}.pdf")
    return render(
        request,
        "ledger/statement.html",
        {"st": st, "query": q.urlencode(), "share_percent": _share_percent()},
    )


@role_required(User.Role.CREATOR)
def stored_statement(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A monthly statement exactly as it was issued."""
    row = get_object_or_404(StoredStatement, pk=pk, organization=request.user.organization)
    key, content_type = (
        (row.pdf_key, "application/pdf") if fmt == "pdf" else (row.csv_key, "text/csv")
    )
    return _download(get_store().get_bytes(key), content_type, key.rsplit("/", 1)[-1])


@role_required(User.Role.CREATOR)
def tax_and_payouts(request: HttpRequest) -> HttpResponse:
    """The creator's tax profile and payout details; ids are shown masked, never echoed."""
    org = request.user.organization
    profile = TaxProfile.objects.filter(organization=org).first()
    dest = PayoutDestination.objects.filter(organization=org).first()
    tax_form = TaxProfileForm(
        initial={f: getattr(profile, f) for f in tax.TAX_FIELDS if f not in tax.SENSITIVE}
        if profile
        else None
    )
    dest_form = PayoutDestinationForm(
        initial={f: getattr(dest, f) for f in tax.DESTINATION_FIELDS if f not in tax.SENSITIVE}
        if dest
        else None
    )
    if request.method == "POST":
        which = request.POST.get("save")
        form = (
            TaxProfileForm(request.POST) if which == "tax" else PayoutDestinationForm(request.POST)
        )
        save = tax.save_tax_profile if which == "tax" else tax.save_payout_destination
        if form.is_valid():
            try:
                save(request.user, form.cleaned_data)
            except LedgerError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Saved.")
                return redirect("tax")
        if which == "tax":
            tax_form = form
        else:
            dest_form = form
    rate, source = tax.effective_withholding(org)
    return render(
        request,
        "ledger/tax.html",
        {
            "tax_form": tax_form,
            "dest_form": dest_form,
            "profile": profile,
            "dest": dest,
            "masked": {
                "tax_id": tax.mask(profile.tax_id) if profile else "",
                "foreign_tax_id": tax.mask(profile.foreign_tax_id) if profile else "",
                "bank_account": tax.mask(dest.bank_account) if dest else "",
            },
            "rate_percent": f"{rate:.2%}",
            "rate_source": source,
            "years": range(timezone.now().year, timezone.now().year - 6, -1),
        },
    )


@role_required(User.Role.CREATOR)
def yearly_export(request: HttpRequest, year: int) -> HttpResponse:
    data = tax.yearly_export_csv(request.user.organization, year, settings.RATE_CARD.currency)
    return _download(data.encode(), "text/csv", f"outtake-earnings-{year}.csv")


@role_required(User.Role.BUYER)
def pay_by_card(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Send the buyer to Stripe Checkout for a small invoice of their organization."""
    invoice = get_object_or_404(Invoice, pk=invoice_id, buyer=request.user.organization)
    try:
        return redirect(card_provider().checkout(invoice).url)
    except LedgerError as exc:
        messages.error(request, f"Card payment is not possible: {exc}")
        return redirect("license", license_id=invoice.license_id)


@role_required(User.Role.BUYER)
def collections(request: HttpRequest) -> HttpResponse:
    """Pooled collections a lab can license, with what each holds for it now."""
    return render(
        request,
        "ledger/collections.html",
        {"offers": offers.offers(request.user.organization), "formula": FORMULA},
    )


@require_POST
@role_required(User.Role.BUYER)
def license_collection(request: HttpRequest, pk: int) -> HttpResponse:
    """Quote the collection for this lab; it is accepted on the quote page like any quote."""
    collection = get_object_or_404(Collection, pk=pk, active=True)
    try:
        quote = quote_collection(request.user, collection)
    except MarketError as exc:
        messages.error(request, str(exc))
        return redirect("collections")
    messages.success(request, f"Quoted «{collection.title}»: accept it to license it.")
    return redirect("quote", quote_id=quote.id)


@role_required(User.Role.CREATOR)
def my_collections(request: HttpRequest) -> HttpResponse:
    """Which of the creator's clips are in which collection, and their part and share."""
    org = request.user.organization
    return render(
        request,
        "ledger/my_collections.html",
        {
            "places": offers.places(org),
            "sales": offers.pooled_sales(org),
            "formula": FORMULA,
            "share_percent": _share_percent(),
        },
    )


def prices(request: HttpRequest) -> HttpResponse:
    """The open price index, public, beside the rate card."""
    cells = pi.price_index()
    return render(
        request,
        "ledger/prices.html",
        {
            "tiers": [
                (t, next((c for c in cells if c.dimension == "tier" and c.key == t.code), None))
                for t in settings.RATE_CARD.video_tiers
            ],
            "tags": [c for c in cells if c.dimension == "tag"],
            "card": settings.RATE_CARD,
            "days": pi.DAYS,
            "min_sales": pi.MIN_SALES,
            "min_creators": pi.MIN_CREATORS,
            "here": "prices",
        },
    )
