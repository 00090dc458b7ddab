"""Buying: dataset requests, quotes, acceptance and the licenses that follow."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.catalog.views import price_lines
from outtake.core.money import Money
from outtake.core.terms import CONSTRAINED, PROTECTIONS, USES, protection_texts
from outtake.delivery.models import Delivery
from outtake.delivery.services import deliveries_for
from outtake.ledger.invoices import payment_summary
from outtake.ledger.models import Invoice
from outtake.market import services
from outtake.market.forms import DatasetRequestForm
from outtake.market.models import DatasetRequest, License
from outtake.rights.releases import release_summary

REQUESTS_SHOWN = 100


def _constraints(snapshot: dict, uses: list[str]) -> list[tuple[str, str]]:
    """The creator's constraints on the uses a buyer takes, as (use label, text)."""
    return [
        (USES[code].label, entry["constraint"])
        for code, entry in snapshot["terms"]["uses"].items()
        if entry["state"] == CONSTRAINED and code in uses
    ]


def _item_rows(items, currency: str, uses: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "item": i,
            "clip": i.clip,
            "creator": i.creator.pseudonym,
            "price": Money(i.price_minor, currency),
            "lines": price_lines(i.price_lines),
            "terms_version": i.terms_snapshot["terms_version"],
            "terms_scope": i.terms_snapshot["scope"],
            "constraints": _constraints(i.terms_snapshot, uses),
            "release": release_summary(i.clip),
            "protections_off": _waived(i.terms_snapshot["terms"]),
        }
        for i in items.select_related("clip__asset", "creator")
    ]


def _waived(terms: dict[str, Any]) -> list[str]:
    """The default protections a creator's terms snapshot turned off, in its pinned words (a
    protection made default after the sale is not in the snapshot, so never reads as waived)."""
    texts = protection_texts(terms)
    return [
        texts[code]
        for code, on in terms["protections"].items()
        if not on and code in PROTECTIONS and code in texts
    ]


def _protections_in_force(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """What the license forbids, as (the words its clips' terms snapshots pinned, how many of
    its clips it covers): only what a snapshot has on, as the license PDF states it."""
    covered: dict[str, int] = {}
    for row in rows:
        terms = row["item"].terms_snapshot["terms"]
        texts = protection_texts(terms)
        for code, on in terms["protections"].items():
            if on and code in texts:
                covered[texts[code]] = covered.get(texts[code], 0) + 1
    return list(covered.items())


def _uses(codes: list[str]) -> list[str]:
    return [USES[c].label for c in codes if c in USES]


@role_required(User.Role.BUYER)
def request_list(request: HttpRequest) -> HttpResponse:
    mine = (
        DatasetRequest.objects.filter(buyer=request.user.organization)
        .prefetch_related("quotes")
        .order_by("-created_at")[:REQUESTS_SHOWN]
    )
    return render(request, "market/requests.html", {"requests": mine})


@role_required(User.Role.BUYER)
def request_new(request: HttpRequest) -> HttpResponse:
    form = DatasetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dataset_request = services.create_request(request.user, form.service_data())
        except services.MarketError as exc:
            form.add_error(None, str(exc))
        else:
            quote = services.build_quote(dataset_request)
            return redirect("quote", quote_id=quote.id)
    return render(request, "market/request_form.html", {"form": form})


@require_POST
@role_required(User.Role.BUYER)
def requote(request: HttpRequest, request_id) -> HttpResponse:
    dataset_request = get_object_or_404(
        DatasetRequest, pk=request_id, buyer=request.user.organization
    )
    quote = services.build_quote(dataset_request)
    messages.success(request, "A new quote was built from today's catalogue.")
    return redirect("quote", quote_id=quote.id)


@role_required(User.Role.BUYER)
def quote_detail(request: HttpRequest, quote_id) -> HttpResponse:
    q = get_object_or_404(services.quotes_of(request.user).select_related("request"), pk=quote_id)
    expired = q.status == q.Status.OPEN and q.expires_at <= timezone.now()
    return render(
        request,
        "market/quote.html",
        {
            "quote": q,
            "total": Money(q.total_minor, q.currency),
            "budget": Money(q.request.budget_minor, q.request.currency),
            "minutes": f"{q.seconds / 60:.2f}",
            "items": _item_rows(q.items, q.currency, q.request.uses_needed),
            "clauses": services.quote_clauses(q),
            "uses": _uses(q.request.uses_needed),
            "license": License.objects.filter(quote=q).first(),
            "can_accept": q.status == q.Status.OPEN and not expired and q.clip_count > 0,
            "expired": expired,
        },
    )


@require_POST
@role_required(User.Role.BUYER)
def quote_accept(request: HttpRequest, quote_id) -> HttpResponse:
    q = get_object_or_404(services.quotes_of(request.user), pk=quote_id)
    accepted = request.POST.getlist("clause")
    try:
        lic = services.accept_quote(request.user, q, via="web", accepted_clauses=accepted)
    except services.AwaitingApproval as exc:
        messages.info(request, str(exc))
        return redirect("quote", quote_id=q.id)
    except services.MarketError as exc:
        messages.error(request, str(exc))
        return redirect("quote", quote_id=q.id)
    messages.success(request, "Quote accepted: your license and invoice are below.")
    return redirect("license", license_id=lic.id)


@role_required(User.Role.BUYER)
def license_list(request: HttpRequest) -> HttpResponse:
    rows = (
        services.licenses_of(request.user).select_related("invoice").annotate(clips=Count("items"))
    )
    return render(
        request,
        "market/licenses.html",
        {
            "rows": [
                {"license": lic, "total": Money(lic.total_minor, lic.currency)} for lic in rows
            ],
        },
    )


def _package(request: HttpRequest, lic: License) -> dict[str, Any]:
    """The package section, and how often htmx refreshes it: often while it is being built,
    rarely while the bank transfer is awaited, never once it is ready, failed or the license
    ended."""
    delivery = deliveries_for(request.user).filter(license=lic).order_by("-version").first()
    if (
        lic.status == License.Status.DELIVERED
        or lic.status in License.ENDED
        or (delivery and delivery.status == Delivery.Status.FAILED)
    ):
        poll = None
    else:
        poll = "30s" if lic.status == License.Status.AWAITING_PAYMENT else "3s"
    return {"license": lic, "delivery": delivery, "poll": poll}


@role_required(User.Role.BUYER)
def license_detail(request: HttpRequest, license_id) -> HttpResponse:
    lic = get_object_or_404(
        services.licenses_of(request.user).select_related("quote"), pk=license_id
    )
    invoice = Invoice.objects.filter(license=lic).first()
    items = _item_rows(lic.items, lic.currency, lic.uses)
    return render(
        request,
        "market/license.html",
        {
            **_package(request, lic),
            "total": Money(lic.total_minor, lic.currency),
            "payment": invoice and payment_summary(invoice),
            "items": items,
            "protections": _protections_in_force(items),
            "uses": _uses(lic.uses),
            "accepted": [f"{USES[c['use']].label}: “{c['text']}”" for c in lic.accepted_clauses]
            or _uses(lic.accepted_constraints),  # licenses from before conditions had ids
        },
    )


@role_required(User.Role.BUYER)
def license_package(request: HttpRequest, license_id) -> HttpResponse:
    """The license's status and package alone: htmx polls it until the package is ready."""
    lic = get_object_or_404(services.licenses_of(request.user), pk=license_id)
    return render(request, "market/package.html", _package(request, lic))
