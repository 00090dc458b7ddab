from uuid import UUID

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from outtake.accounts.auth import scoped
from outtake.catalog.models import Clip
from outtake.catalog.services import assets_of
from outtake.dedup import services
from outtake.dedup.models import ListMatch
from outtake.market.api import QuoteOut
from outtake.market.services import quotes_of

router = Router(tags=["dedup"])


class HoldOut(Schema):
    clip_id: UUID
    matched_clip_id: UUID
    kind: str
    status: str
    coverage: float | None
    pairs: list


class AssetDedupOut(Schema):
    asset_id: UUID
    held: bool
    holds: list[HoldOut]
    published_clips: list[UUID]


@router.get("/dedup/assets/{uuid:asset_id}", response=AssetDedupOut, auth=scoped("read"))
def asset_dedup(request, asset_id: UUID):
    """Why an asset's clips are held out of the catalogue, and which are marked published."""
    asset = get_object_or_404(assets_of(request.auth), pk=asset_id)
    holds = services.holds_of_asset(asset)
    published = ListMatch.objects.filter(
        clip__asset=asset, hash_list__purpose="published"
    ).values_list("clip_id", flat=True)
    return AssetDedupOut(
        asset_id=asset.id,
        held=any(h.status in ("pending", "duplicate") for h in holds),
        holds=[
            HoldOut(
                clip_id=h.clip_id,
                matched_clip_id=h.matched_clip_id,
                kind=h.kind,
                status=h.status,
                coverage=h.evidence.get("coverage"),
                pairs=h.evidence.get("pairs", []),
            )
            for h in holds
        ],
        published_clips=sorted(set(published)),
    )


class ListIn(Schema):
    text: str
    kind: str = "auto"  # sha256 | pdq | outtake | auto
    name: str = ""


class ListOut(Schema):
    id: UUID
    purpose: str
    sha256_count: int
    pdq_count: int
    matched_clips: int


def _upload(request, payload: ListIn, purpose: str):
    hash_list = services.upload_list(
        request.auth, payload.text, kind=payload.kind, purpose=purpose, name=payload.name
    )
    return Status(
        201,
        ListOut(
            id=hash_list.id,
            purpose=purpose,
            sha256_count=hash_list.sha256_count,
            pdq_count=hash_list.pdq_count,
            matched_clips=hash_list.matches.count(),
        ),
    )


@router.post("/dedup/corpus-lists", response={201: ListOut}, auth=scoped("buy"))
def upload_corpus_list(request, payload: ListIn):
    """A lab's hashes of footage it already has: those clips leave its quotes."""
    return _upload(request, payload, "corpus")


@router.post("/dedup/published-lists", response={201: ListOut}, auth=scoped("upload"))
def upload_published_list(request, payload: ListIn):
    """A creator's hashes of what they published: matching clips are marked published."""
    return _upload(request, payload, "published")


@router.get("/dedup/quotes/{uuid:quote_id}/candidates", auth=scoped("read"))
def quote_candidates(request, quote_id: UUID):
    """The quote's clips with their frame hashes, for matching on the lab's own machine."""
    quote = get_object_or_404(quotes_of(request.auth), pk=quote_id)
    return {"quote_id": str(quote.id), "clips": services.quote_candidates(request.auth, quote)}


class ExcludeIn(Schema):
    clip_ids: list[str]


@router.post("/dedup/quotes/{uuid:quote_id}/exclude", response={201: QuoteOut}, auth=scoped("buy"))
def exclude(request, quote_id: UUID, payload: ExcludeIn):
    """Leave these clips (found in the lab's corpus) out and quote the request again."""
    quote = get_object_or_404(quotes_of(request.auth), pk=quote_id)
    return Status(
        201, QuoteOut.from_quote(services.exclude_from_quote(request.auth, quote, payload.clip_ids))
    )


class PreferenceIn(Schema):
    unpublished_only: bool


@router.put("/dedup/requests/{uuid:request_id}", auth=scoped("buy"))
def set_preference(request, request_id: UUID, payload: PreferenceIn):
    """Ask for footage never published elsewhere (applies to the next quote)."""
    from outtake.market.models import DatasetRequest

    req = get_object_or_404(
        DatasetRequest.objects.filter(buyer=request.auth.organization), pk=request_id
    )
    services.set_unpublished_only(req, payload.unpublished_only)
    return {"request_id": str(req.id), "unpublished_only": payload.unpublished_only}


@router.get("/dedup/clips/{uuid:clip_id}/authenticity", auth=scoped("read"))
def clip_authenticity(request, clip_id: UUID):
    """Facts about where a clip's file comes from (camera signs, C2PA manifest and state,
    whether it says it is AI-generated): evidence, not a verdict."""
    try:
        facts = services.authenticity_of(request.auth, clip_id)
    except Clip.DoesNotExist:
        raise Http404("no such clip") from None
    return {"clip_id": str(clip_id), "authenticity": facts}
