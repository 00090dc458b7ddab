from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from outtake.accounts.auth import scoped
from outtake.market import services
from outtake.market.models import License, Quote
from outtake.rights.approvals import item_approval
from outtake.rights.releases import release_summary

router = Router(tags=["market"])


class RequestIn(Schema):
    title: str = "Dataset request"
    media_type: str = "video"
    min_tier: str = "sd"
    min_fps: float = 0
    tags_required: list[str] = []
    tags_excluded: list[str] = []
    min_clip_seconds: float = 0
    minutes_wanted: Decimal = Decimal(0)
    photos_wanted: int = 0
    budget: Decimal
    uses_needed: list[str] = ["ai_training"]
    exclusive: bool = False
    releases_for_everyone: bool = False  # incidental people need a release too
    max_creator_share: Decimal = Decimal(1)


class QuoteItemOut(Schema):
    clip_id: UUID
    creator: str
    kind: str
    duration_s: float | None
    tier: str
    price_minor: int
    price_lines: list[dict]
    terms_version: int
    approval: str  # "not needed", "pending approval", "approved", "refused"
    release_status: str
    clauses: list[str]  # ids of the creator's conditions binding this clip


class ClauseOut(Schema):
    """A creator's condition on a use: accept it by its id, after reading its text."""

    id: str
    use: str
    text: str
    clip_ids: list[UUID]
    accepted: bool


class QuoteOut(Schema):
    id: UUID
    request_id: UUID
    status: str
    rule: str
    total_minor: int
    currency: str
    seconds: float
    clip_count: int
    excluded: dict
    expires_at: datetime
    license_id: UUID | None
    items: list[QuoteItemOut]
    clauses: list[ClauseOut]

    @staticmethod
    def from_quote(q: Quote) -> "QuoteOut":
        items = [
            QuoteItemOut(
                clip_id=i.clip_id,
                creator=i.creator.pseudonym,
                kind=i.clip.kind,
                duration_s=i.clip.duration_s,
                tier=i.clip.tier,
                price_minor=i.price_minor,
                price_lines=i.price_lines,
                terms_version=i.terms_snapshot["terms_version"],
                approval=item_approval(q, i.creator_id),
                release_status=release_summary(i.clip),
                clauses=sorted(services.item_clauses(i, q.request.uses_needed)),
            )
            for i in q.items.select_related("clip__asset", "creator")
        ]
        lic = License.objects.filter(quote=q).values_list("id", flat=True).first()
        return QuoteOut(
            id=q.id,
            request_id=q.request_id,
            status=q.status,
            rule=q.rule,
            total_minor=q.total_minor,
            currency=q.currency,
            seconds=q.seconds,
            clip_count=q.clip_count,
            excluded=q.excluded,
            expires_at=q.expires_at,
            license_id=lic,
            items=items,
            clauses=[ClauseOut(**vars(c)) for c in services.quote_clauses(q)],
        )


class LicenseOut(Schema):
    id: UUID
    status: str
    quote_id: UUID
    total_minor: int
    currency: str
    exclusive: bool
    uses: list[str]
    accepted_clauses: list[dict]  # each creator's condition accepted: id, use, text
    invoice: str | None
    invoice_id: int | None
    paid_at: datetime | None
    created_at: datetime
    clips: list[dict]

    @staticmethod
    def from_license(lic: License) -> "LicenseOut":
        invoice = getattr(lic, "invoice", None)
        return LicenseOut(
            id=lic.id,
            status=lic.status,
            quote_id=lic.quote_id,
            total_minor=lic.total_minor,
            currency=lic.currency,
            exclusive=lic.exclusive,
            uses=lic.uses,
            accepted_clauses=lic.accepted_clauses,
            invoice=invoice.label if invoice else None,
            invoice_id=invoice.id if invoice else None,
            paid_at=lic.paid_at,
            created_at=lic.created_at,
            clips=[
                {
                    "clip_id": str(i.clip_id),
                    "creator": i.creator.pseudonym,
                    "price_minor": i.price_minor,
                    "terms": i.terms_snapshot,
                }
                for i in lic.items.select_related("creator")
            ],
        )


@router.post("/requests", response={201: QuoteOut}, auth=scoped("buy"))
def create_request(request, payload: RequestIn):
    """Write a dataset request and get a quote for it at once."""
    req = services.create_request(request.auth, payload.dict())
    return Status(201, QuoteOut.from_quote(services.build_quote(req)))


@router.post("/requests/{uuid:request_id}/quote", response={201: QuoteOut}, auth=scoped("buy"))
def requote(request, request_id: UUID):
    req = get_object_or_404(
        services.DatasetRequest.objects.filter(buyer=request.auth.organization), pk=request_id
    )
    return Status(201, QuoteOut.from_quote(services.build_quote(req)))


@router.get("/quotes/{uuid:quote_id}", response=QuoteOut, auth=scoped("read"))
def get_quote(request, quote_id: UUID):
    return QuoteOut.from_quote(get_object_or_404(services.quotes_of(request.auth), pk=quote_id))


class WaitingOut(Schema):
    detail: str


class AcceptIn(Schema):
    accepted_clauses: list[str] = []  # ids from the quote's `clauses`, each read and accepted


@router.post(
    "/quotes/{uuid:quote_id}/accept",
    response={201: LicenseOut, 202: WaitingOut},
    auth=scoped("buy"),
)
def accept(request, quote_id: UUID, payload: AcceptIn | None = None):
    """Accept a quote, and each creator's condition you agree to by its id: clips under a
    condition you do not accept are left out. 202 when creators in allow-list mode must
    approve first."""
    quote = get_object_or_404(services.quotes_of(request.auth), pk=quote_id)
    accepted = payload.accepted_clauses if payload else []
    try:
        lic = services.accept_quote(request.auth, quote, via="api", accepted_clauses=accepted)
    except services.AwaitingApproval as exc:
        return Status(202, WaitingOut(detail=str(exc)))
    return Status(201, LicenseOut.from_license(lic))


@router.get("/licenses", response=list[LicenseOut], auth=scoped("read"))
def list_licenses(request):
    return [LicenseOut.from_license(lic) for lic in services.licenses_of(request.auth)]


@router.get("/licenses/{uuid:license_id}", response=LicenseOut, auth=scoped("read"))
def get_license(request, license_id: UUID):
    lic = get_object_or_404(services.licenses_of(request.auth), pk=license_id)
    return LicenseOut.from_license(lic)
