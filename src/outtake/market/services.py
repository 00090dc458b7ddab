"""Buying: dataset requests, quotes by a stated rule, acceptance into licenses, payment."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.catalog.models import Asset, Clip
from outtake.catalog.services import clip_facts
from outtake.core.money import Money
from outtake.core.pricing import price_clip
from outtake.core.terms import USES, clause_id, constraint_clauses, fits_scope, grants
from outtake.dedup import services as dedup
from outtake.ledger import services as ledger
from outtake.market.models import DatasetRequest, License, LicenseItem, Quote, QuoteItem
from outtake.notices.services import notify_org, notify_reviewers
from outtake.rights.approvals import request_approvals
from outtake.rights.contracts import issue_contract
from outtake.rights.releases import unreleased_people
from outtake.rights.sellability import for_sale, offered_to, sale_problem
from outtake.rights.services import below_floor, snapshot


class MarketError(ValueError):
    pass


class AwaitingApproval(MarketError):
    """The buyer's acceptance is recorded; creators in allow-list mode still have to approve."""


def _tier_rank() -> dict[str, int]:
    tiers = settings.RATE_CARD.video_tiers  # sorted best first
    return {t.code: len(tiers) - i for i, t in enumerate(tiers)}


@transaction.atomic
def create_request(user, data: dict[str, Any]) -> DatasetRequest:
    if not user.is_buyer:
        raise PermissionError("only buyers request datasets")
    uses = list(data.get("uses_needed") or ["ai_training"])
    unknown = set(uses) - set(USES)
    if unknown:
        raise MarketError(f"unknown uses: {', '.join(sorted(unknown))}")
    tier = data.get("min_tier") or "sd"
    if tier not in _tier_rank():
        raise MarketError(f"min_tier must be one of {', '.join(_tier_rank())}")
    budget = Money.from_decimal(Decimal(str(data.get("budget", "0"))), settings.RATE_CARD.currency)
    if budget.minor <= 0:
        raise MarketError("a budget above zero is needed")
    share = Decimal(str(data.get("max_creator_share", "1")))
    if not Decimal("0.01") <= share <= 1:
        raise MarketError("max_creator_share must be between 0.01 and 1")
    territory = sorted({str(c).upper() for c in data.get("territory") or []})
    if not all(len(c) == 2 and c.isalpha() for c in territory):
        raise MarketError("territory must be ISO 3166-1 alpha-2 country codes")
    term_years = int(data["term_years"]) if data.get("term_years") else None
    if term_years is not None and not 1 <= term_years <= 99:
        raise MarketError("term_years must be between 1 and 99 (empty for perpetual)")
    media_type = data.get("media_type") or DatasetRequest.MediaType.VIDEO
    if media_type not in DatasetRequest.MediaType.values:
        raise MarketError("media_type must be video, image or any")
    request = DatasetRequest.objects.create(
        buyer=user.organization,
        created_by=user,
        title=(data.get("title") or "Dataset request").strip()[:200],
        media_type=media_type,
        min_tier=tier,
        min_fps=float(data.get("min_fps") or 0),
        tags_required=sorted({t.lower() for t in data.get("tags_required") or []}),
        tags_excluded=sorted({t.lower() for t in data.get("tags_excluded") or []}),
        min_clip_seconds=float(data.get("min_clip_seconds") or 0),
        minutes_wanted=Decimal(str(data.get("minutes_wanted") or 0)),
        photos_wanted=int(data.get("photos_wanted") or 0),
        budget_minor=budget.minor,
        currency=budget.currency,
        uses_needed=uses,
        exclusive=bool(data.get("exclusive")),
        releases_for_everyone=bool(data.get("releases_for_everyone")),
        max_creator_share=share,
        territory=territory,
        term_years=term_years,
    )
    record(
        "request.created",
        actor=user,
        org=user.organization,
        subject=request,
        data={"title": request.title},
    )
    return request


def available_clips(
    buyer_org, *, exclusive: bool = False, among: QuerySet[Clip] | None = None
) -> QuerySet[Clip]:
    """The clips a buyer is shown and could license now (before a request's filters): the one
    rule behind the catalogue, the API, thumbnails, collections and quotes. Rights decide what
    is for sale and whom its creator refuses. `among`: only these clips (one asset's, a
    quote's), so the release check reads only them."""
    qs = (Clip.objects.all() if among is None else among).filter(
        sellable=True, asset__status=Asset.Status.READY
    )
    qs = offered_to(for_sale(qs.select_related("asset", "asset__owner")), buyer_org)
    # An exclusive license that was refunded or cancelled gives its clips back.
    sold_exclusively = (
        LicenseItem.objects.filter(license__exclusive=True)
        .exclude(license__status__in=License.ENDED)
        .values("clip")
    )
    # A buyer whose license ended (refunded, or voided unpaid) may license its clips again.
    already_mine = (
        LicenseItem.objects.filter(license__buyer=buyer_org)
        .exclude(license__status__in=License.ENDED)
        .values("clip")
    )
    qs = qs.exclude(id__in=sold_exclusively).exclude(id__in=already_mine)
    qs = dedup.in_catalogue(qs)  # held duplicates and replaced copies are not for sale
    if exclusive:
        # Only footage never sold before can be sold exclusively. A cancelled license was never
        # paid nor delivered, so it sold nothing; a refunded one was paid and may have been
        # delivered, so its clips are sold before and only go out non-exclusively again.
        sold = LicenseItem.objects.exclude(license__status=License.Status.CANCELLED)
        qs = qs.exclude(id__in=sold.values("clip"))
    return qs


def asset_shown_to_buyer(buyer_org, asset_id) -> Asset | None:
    """An asset whose thumbnail and metadata a buyer may see: in the catalogue, or on one of
    the buyer's licenses that has not ended."""
    clip = available_clips(buyer_org, among=Clip.objects.filter(asset_id=asset_id)).first()
    if clip is not None:
        return clip.asset
    item = (
        LicenseItem.objects.filter(license__buyer=buyer_org, clip__asset_id=asset_id)
        .exclude(license__status__in=License.ENDED)
        .first()
    )
    return item.clip.asset if item else None


def _why_not(
    clip: Clip, request: DatasetRequest, terms: dict, ranks: dict, conditions: bool
) -> str:
    """The first reason a clip does not fit a request, or "". With `conditions`, a use the
    creator constrains fits for now: the buyer accepts or declines its text on the quote."""
    if request.exclusive and not terms.get("exclusive_allowed", True):
        return "creator does not sell exclusively"
    to_decide = frozenset(request.uses_needed) if conditions else frozenset()
    ok, reason = grants(terms, request.uses_needed, to_decide)
    if not ok:
        return reason
    ok, reason = fits_scope(terms, request.territory, request.term_years)
    if not ok:
        return reason
    if below_floor(clip, terms):
        return "below the creator's minimum price"
    if request.releases_for_everyone and unreleased_people(clip):
        return "a person shown has no model release (the request asks for everyone's)"
    if request.media_type != "any" and clip.kind != request.media_type:
        return "other media type"
    tags = set(clip.tags) | set(clip.asset.creator_tags)
    if not set(request.tags_required) <= tags:
        return "missing required tags"
    if set(request.tags_excluded) & tags:
        return "has excluded tags"
    if clip.kind == "video":
        if ranks.get(clip.tier, 0) < ranks[request.min_tier]:
            return "below minimum resolution"
        if request.min_fps and (clip.fps or 0) < request.min_fps - 0.01:
            return "below minimum frame rate"
        if (clip.duration_s or 0) < request.min_clip_seconds:
            return "shorter than minimum clip duration"
    return ""


RULE = (
    "Best quality first (highest resolution tier, then fewest quality warnings, then longest "
    "clip); at most {share:.0%} of the wanted minutes from any one creator; stop at "
    "{minutes} minutes of video, {photos} photos, or the budget of {budget}, whichever comes "
    "first."
)


@transaction.atomic
def build_quote(request: DatasetRequest, *, conditions: bool = True) -> Quote:
    """Quote a request by RULE. Clips under a creator's condition on a needed use are quoted
    with it (conditions=False leaves them out): the buyer accepts each condition, or not."""
    ranks = _tier_rank()
    card = settings.RATE_CARD
    excluded: Counter[str] = Counter()
    candidates = []
    terms_cache: dict = {}
    left_out = dedup.left_out_of_quote(request)
    discounted = dedup.discounted_in_quote(request)  # published elsewhere, by setting
    left_out_s = 0.0
    for clip in available_clips(request.buyer, exclusive=request.exclusive):
        if clip.id in left_out:
            excluded[left_out[clip.id]] += 1
            left_out_s += clip.duration_s or 0
            continue
        if clip.asset_id not in terms_cache:
            terms_cache[clip.asset_id] = snapshot(clip.asset)
        snap = terms_cache[clip.asset_id]
        reason = _why_not(clip, request, snap["terms"], ranks, conditions)
        if reason:
            excluded[reason] += 1
            continue
        candidates.append((clip, snap))
    candidates.sort(
        key=lambda c: (
            -ranks.get(c[0].tier, 0),
            sum(1 for p in c[0].problems if p.get("severity") == "warn"),
            -(c[0].duration_s or 0),
            c[0].created_at,
        )
    )
    seconds_wanted = float(request.minutes_wanted) * 60
    cap_seconds = seconds_wanted * float(request.max_creator_share) if seconds_wanted else None
    per_creator: dict = defaultdict(float)
    total = Money.zero(request.currency)
    seconds = 0.0
    photos = 0
    quote = Quote.objects.create(
        request=request,
        buyer=request.buyer,
        currency=request.currency,
        rule=RULE.format(
            share=request.max_creator_share,
            minutes=request.minutes_wanted,
            photos=request.photos_wanted,
            budget=Money(request.budget_minor, request.currency),
        ),
        expires_at=timezone.now() + timedelta(hours=settings.OUTTAKE_QUOTE_TTL_HOURS),
    )
    items = []
    for clip, snap in candidates:
        is_video = clip.kind == "video"
        if is_video and seconds_wanted and seconds >= seconds_wanted:
            excluded["minutes reached"] += 1
            continue
        if not is_video and request.photos_wanted and photos >= request.photos_wanted:
            excluded["photos reached"] += 1
            continue
        duration = clip.duration_s or 0
        owner = clip.asset.owner
        taken = per_creator[owner.id]
        # A creator's first clip always fits; later ones only while under the cap.
        if is_video and cap_seconds is not None and taken and taken + duration > cap_seconds:
            excluded["creator share cap"] += 1
            continue
        price = price_clip(clip_facts(clip), card, exclusive=request.exclusive)
        if clip.id in discounted:
            dedup.apply_published_discount(price)
        if total.minor + price.total.minor > request.budget_minor:
            excluded["over budget"] += 1
            continue
        total = total + price.total
        if is_video:
            seconds += duration
            per_creator[owner.id] += duration
        else:
            photos += 1
        items.append(
            QuoteItem(
                quote=quote,
                clip=clip,
                creator=owner,
                price_minor=price.total.minor,
                price_lines=[line.as_dict() for line in price.lines],
                terms_snapshot=snap,
            )
        )
    QuoteItem.objects.bulk_create(items)
    quote.total_minor, quote.seconds, quote.clip_count = total.minor, seconds, len(items)
    quote.excluded = dict(excluded)
    if left_out_s:
        quote.excluded["excluded minutes"] = round(left_out_s / 60, 2)
    quote.save()
    record(
        "quote.created",
        org=request.buyer,
        subject=quote,
        data={"total_minor": total.minor, "clips": len(items), "seconds": seconds},
    )
    return quote


def quotes_of(user) -> QuerySet[Quote]:
    if user.is_reviewer:
        return Quote.objects.all()
    return Quote.objects.filter(buyer=user.organization)


@dataclass(frozen=True)
class Clause:
    """One creator's condition on one use the buyer needs, and the quoted clips it binds."""

    id: str
    use: str
    text: str
    clip_ids: tuple
    accepted: bool

    @property
    def label(self) -> str:
        return USES[self.use].label


def item_clauses(item, uses: list[str]) -> dict[str, tuple[str, str]]:
    """The conditions binding one quoted clip: id -> (use, text)."""
    clauses = constraint_clauses(item.terms_snapshot["terms"], uses)
    return {clause_id(use, text): (use, text) for use, text in clauses}


def quote_clauses(quote: Quote) -> list[Clause]:
    """Each distinct condition among a quote's clips, to accept (or not) one by one."""
    uses = quote.request.uses_needed
    found: dict[str, tuple[str, str, list]] = {}
    for item in quote.items.all():
        for cid, (use, text) in item_clauses(item, uses).items():
            found.setdefault(cid, (use, text, []))[2].append(item.clip_id)
    return [
        Clause(cid, use, text, tuple(clips), cid in quote.accepted_clauses)
        for cid, (use, text, clips) in sorted(found.items(), key=lambda c: c[1][:2])
    ]


@transaction.atomic
def settle_clauses(user, quote: Quote, accepted: list[str]) -> Quote:
    """The buyer accepts conditions of the quote one by one (with those it accepted before):
    clips under a condition not accepted leave the quote, each counted with its reason."""
    quote = Quote.objects.select_for_update().select_related("request").get(pk=quote.pk)
    clauses = {c.id: c for c in quote_clauses(quote)}
    unknown = set(accepted) - set(clauses)
    if unknown:
        raise MarketError(f"not a condition of this quote: {', '.join(sorted(unknown))}")
    if not clauses or quote.status != Quote.Status.OPEN:
        return quote
    agreed = set(quote.accepted_clauses) | set(accepted)
    rows = [
        (
            item,
            [clauses[c] for c in item_clauses(item, quote.request.uses_needed) if c not in agreed],
        )
        for item in quote.items.select_related("clip")
    ]
    kept = [item for item, declined in rows if not declined]
    left_out = [(item, declined) for item, declined in rows if declined]
    if not kept:
        raise MarketError(
            "every clip of this quote is under a condition you did not accept: accept the "
            "conditions you agree to, or request a new quote"
        )
    if agreed == set(quote.accepted_clauses) and not left_out:
        return quote  # nothing new (e.g. accepted again while creators approve)
    excluded = Counter(quote.excluded)
    for item, declined in left_out:
        excluded[f"{declined[0].label}: the creator's condition not accepted"] += 1
        item.delete()
    quote.total_minor = sum(item.price_minor for item in kept)
    quote.seconds = sum(item.clip.duration_s or 0 for item in kept if item.clip.kind == "video")
    quote.clip_count, quote.excluded = len(kept), dict(excluded)
    quote.accepted_clauses = sorted(agreed & set(clauses))
    quote.save(
        update_fields=["total_minor", "seconds", "clip_count", "excluded", "accepted_clauses"]
    )
    record(
        "quote.conditions_accepted",
        actor=user,
        org=quote.buyer,
        subject=quote,
        data={
            "accepted": [
                {"id": c.id, "use": c.use, "text": c.text}
                for c in clauses.values()
                if c.id in agreed
            ],
            "clips_left_out": [str(item.clip_id) for item, _ in left_out],
        },
    )
    return quote


def accept_quote(
    user, quote: Quote, *, via: str = "service", accepted_clauses: list[str] = ()
) -> License:
    """Accept a quote: the license pins terms snapshots and prices, its contract is sealed and
    an invoice is issued. `accepted_clauses`: the ids of the creators' conditions the buyer
    accepts, each after reading it (quote_clauses); clips under any other are left out. `via`
    ("web", "api") is recorded with the acceptance."""
    if quote.buyer_id != user.organization_id or not user.is_buyer:
        raise PermissionError("not your quote")
    quote.refresh_from_db(fields=["status", "expires_at"])
    if quote.status == Quote.Status.OPEN and quote.expires_at <= timezone.now():
        Quote.objects.filter(pk=quote.pk).update(status=Quote.Status.EXPIRED)
        raise MarketError("this quote has expired; request a new one")
    quote = settle_clauses(user, quote, list(accepted_clauses))
    waiting = request_approvals(user, quote, via)
    if any(a.status == "refused" for a in waiting):
        raise MarketError("a creator refused this deal; request a new quote")
    if waiting:
        raise AwaitingApproval(
            f"your acceptance is recorded; waiting for {len(waiting)} creator(s) to approve "
            "this deal — you will be told"
        )
    return _accept(user, quote, via)


def conclude_approved(quote: Quote, user, via: str) -> License | None:
    """Every creator approved: conclude the acceptance the buyer already gave. The quote is held
    while creators decide, so its expiry restarts; a clip gone meanwhile means a new quote."""
    Quote.objects.filter(pk=quote.pk, status=Quote.Status.OPEN).update(
        expires_at=timezone.now() + timedelta(hours=settings.OUTTAKE_QUOTE_TTL_HOURS)
    )
    try:
        return _accept(user, quote, via)
    except MarketError as exc:
        notify_org(quote.buyer, "deal.failed", "Your approved deal was not concluded", str(exc))
        return None


def withdraw_refused(quote: Quote) -> None:
    Quote.objects.filter(pk=quote.pk, status=Quote.Status.OPEN).update(
        status=Quote.Status.WITHDRAWN
    )
    notify_org(
        quote.buyer,
        "deal.refused",
        "A creator declined your deal",
        "This quote is withdrawn; request a new one.",
        f"/quotes/{quote.id}/",
    )


@transaction.atomic
def _accept(user, quote: Quote, via: str = "service") -> License:
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status != Quote.Status.OPEN:
        raise MarketError(f"this quote is {quote.status}")
    if quote.expires_at <= timezone.now():
        raise MarketError("this quote has expired; request a new one")
    items = list(quote.items.select_related("clip__asset__owner"))
    if not items:
        raise MarketError("this quote has no clips")
    request = quote.request
    accepted: dict[str, tuple[str, str]] = {}
    for item in items:
        clauses = item_clauses(item, request.uses_needed)
        if set(clauses) - set(quote.accepted_clauses):
            raise MarketError("a clip's condition was not accepted; request a new quote")
        accepted.update(clauses)
    quoted = Clip.objects.filter(quoteitem__quote=quote)
    still = set(
        available_clips(quote.buyer, exclusive=request.exclusive, among=quoted).values_list(
            "id", flat=True
        )
    )
    for item in items:
        if item.clip_id not in still:
            problem = sale_problem(item.clip)
            raise MarketError(
                "a clip in this quote is no longer available"
                + (f" ({problem})" if problem else "")
                + "; request a new quote"
            )
        if snapshot(item.clip.asset)["terms_version_id"] != item.terms_snapshot["terms_version_id"]:
            raise MarketError("a creator changed their terms since this quote; request a new quote")
    license = License.objects.create(
        quote=quote,
        buyer=quote.buyer,
        exclusive=request.exclusive,
        uses=request.uses_needed,
        accepted_constraints=sorted({use for use, _ in accepted.values()}),
        accepted_clauses=[
            {"id": cid, "use": use, "text": text} for cid, (use, text) in sorted(accepted.items())
        ],
        total_minor=quote.total_minor,
        currency=quote.currency,
    )
    LicenseItem.objects.bulk_create(
        LicenseItem(
            license=license,
            clip=i.clip,
            creator=i.creator,
            price_minor=i.price_minor,
            price_lines=i.price_lines,
            terms_snapshot=i.terms_snapshot,
        )
        for i in items
    )
    contract = issue_contract(license, user, via=via)
    quote.status, quote.accepted_at, quote.accepted_by = (
        Quote.Status.ACCEPTED,
        timezone.now(),
        user,
    )
    quote.save(update_fields=["status", "accepted_at", "accepted_by"])
    invoice = ledger.issue_invoice(license)
    record(
        "quote.accepted",
        actor=user,
        org=quote.buyer,
        subject=license,
        data={
            "quote": str(quote.id),
            "total_minor": license.total_minor,
            "clips": len(items),
            "invoice": invoice.label,
            "contract_data_sha256": contract.data_sha256,
        },
    )
    amount = Money(invoice.amount_minor, invoice.currency)
    notify_org(
        quote.buyer,
        "quote.accepted",
        f"License accepted; invoice {invoice.label}",
        f"Pay {amount} by bank transfer quoting {invoice.label}. The package is built "
        "as soon as the payment is received.",
        f"/licenses/{license.id}/",
    )
    notify_reviewers(
        "payment.expected",
        f"Payment expected for {invoice.label}",
        f"{quote.buyer.name} owes {amount}.",
        f"/admin/ledger/invoice/{invoice.id}/change/",
    )
    return license


@transaction.atomic
def mark_paid(
    invoice,
    *,
    amount_minor: int,
    reference: str,
    by,
    method: str = "bank_transfer",
    provider_reference: str = "",
) -> License:
    """A reviewer records the buyer's payment, or a card provider's verified webhook does
    (by=None); once the invoice is paid in full, shares become payable and delivery starts."""
    from outtake.delivery.services import start_delivery

    if (by is None and method != "card") or (by is not None and not by.is_reviewer):
        raise PermissionError("only reviewers record payments")
    payment = ledger.record_payment(
        invoice,
        amount_minor=amount_minor,
        reference=reference,
        by=by,
        method=method,
        provider_reference=provider_reference,
    )
    license = License.objects.select_for_update().get(pk=invoice.license_id)
    if payment.invoice.status != "paid":  # part-paid: nothing is delivered before it is paid
        return license
    license.status, license.paid_at = License.Status.PAID, timezone.now()
    license.save(update_fields=["status", "paid_at"])
    notify_org(
        license.buyer,
        "payment.received",
        f"Payment received for {invoice.label}",
        "Your package is being built; you will be told when it is ready.",
        f"/licenses/{license.id}/",
    )
    shares, _ = ledger.sale_shares(license)  # as posted: a share rounded to 0 posts nothing
    for org in {item.creator for item in license.items.select_related("creator")}:
        if org in shares:
            notify_org(
                org,
                "earnings",
                f"You earned {shares[org]}",
                f"{license.buyer.name_for_creators} licensed your footage; your share is now "
                "payable.",
                "/earnings/",
            )
        else:
            notify_org(
                org,
                "earnings",
                "Your footage was licensed in a collection",
                f"{license.buyer.name_for_creators} licensed a collection with your clips. Your "
                f"part of its price rounds to {Money.zero(license.currency)}; your statement "
                "shows the sale and how the price was split.",
                "/earnings/statement/",
            )
    start_delivery(license)
    return license


@transaction.atomic
def end_license(license: License, *, status: str, reason: str, by) -> License:
    """End a license whose money went back (refunded) or never came (cancelled): its packages
    are no longer built, downloaded or pushed, its exclusive clips return to the catalogue,
    and the buyer is told to delete the data."""
    if status not in License.ENDED:
        raise MarketError(f"a license ends as {' or '.join(License.ENDED)}")
    license = License.objects.select_for_update().get(pk=license.pk)
    if license.status in License.ENDED:
        return license
    was = license.status
    license.status = status
    license.save(update_fields=["status"])
    record(
        "license.ended",
        actor=by,
        org=license.buyer,
        subject=license,
        data={"status": status, "was": was, "reason": reason[:300]},
    )
    had_data = was != License.Status.AWAITING_PAYMENT
    notify_org(
        license.buyer,
        "license.ended",
        f"Your license has ended ({status})",
        f"{reason.rstrip('.')}. "
        + (
            "Its packages can no longer be downloaded or pushed; delete the data you received "
            "under it, as the license requires."
            if had_data
            else "Nothing was delivered under it."
        ),
        f"/licenses/{license.id}/",
    )
    if license.exclusive:
        for org in {item.creator for item in license.items.select_related("creator")}:
            notify_org(
                org,
                "license.ended",
                "Clips you licensed exclusively are back in the catalogue",
                f"The exclusive license of {license.buyer.name_for_creators} has ended "
                f"({status}); your clips can be licensed again.",
                "/earnings/",
            )
    return license


def licenses_of(user) -> QuerySet[License]:
    if user.is_reviewer:
        return License.objects.all()
    return License.objects.filter(buyer=user.organization)


@transaction.atomic
def quote_collection(user, collection) -> Quote:
    """Quote a pooled collection: every available clip that fits it, chosen by the usual
    rule and terms checks, priced at the collection's price split by rate-card value."""
    from outtake.ledger.pools import price_pooled_quote

    if not collection.active:
        raise MarketError("this collection is not on offer")
    request = create_request(
        user,
        {
            "title": collection.title,
            "media_type": DatasetRequest.MediaType.VIDEO,
            "min_tier": collection.min_tier,
            "tags_required": collection.tags_required,
            "uses_needed": collection.uses or ["ai_training"],
            "budget": "1000000000",  # the price is the collection's, not a sum of clip prices
        },
    )
    # One price for the whole collection: no clip under a condition to accept or decline.
    quote = build_quote(request, conditions=False)
    try:
        price_pooled_quote(quote, collection)
    except ValueError as exc:
        raise MarketError(str(exc)) from exc
    return quote
