from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outtake.accounts.auth import request_user
from outtake.accounts.models import User
from outtake.accounts.services import needs_agreement, unattested_uploads, upload_attestation
from outtake.accounts.views import browser_upload_token, role_required
from outtake.catalog.forms import TagsForm
from outtake.catalog.models import Asset, Clip
from outtake.catalog.services import CatalogError, assets_of, set_creator_tags
from outtake.core.money import Money
from outtake.core.privacy import public_metadata
from outtake.core.terms import OWNERSHIP_ATTESTATIONS
from outtake.market.services import asset_shown_to_buyer, available_clips
from outtake.rights.claims import holds_on
from outtake.rights.forms import TermsForm
from outtake.rights.sellability import sale_problem
from outtake.rights.services import resolved_terms
from outtake.storage import get_store

ASSETS_PER_PAGE = 50
CLIPS_PER_PAGE = 24


def _shown_asset(user, asset_id) -> Asset | None:
    """The asset if the user is its creator or a buyer who could license or has licensed it."""
    asset = assets_of(user).filter(pk=asset_id).first()
    if asset is None and user.is_buyer:
        asset = asset_shown_to_buyer(user.organization, asset_id)
    if asset is None or asset.status == Asset.Status.REJECTED:
        return None
    return asset


def _image(key: str, content_type: str) -> HttpResponse:
    response = HttpResponse(get_store().get_bytes(key), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def thumbnail(request, asset_id):
    """Thumbnails are shown to the asset's creator and to buyers who could license or have
    licensed it."""
    return _asset_image(request, asset_id, "thumbnail_key", "no thumbnail")


def contact_sheet(request, asset_id):
    """The asset's watermarked contact sheet, shown to the same people as its thumbnail."""
    return _asset_image(request, asset_id, "sheet_key", "no contact sheet")


def _asset_image(request, asset_id, key_field: str, missing: str) -> HttpResponse:
    user = request_user(request, "read")
    if user is None:
        return HttpResponse("authentication required", status=401)
    asset = _shown_asset(user, asset_id)
    if asset is None or not getattr(asset, key_field):
        raise Http404(missing)
    return _image(getattr(asset, key_field), "image/jpeg")


def clip_preview(request, clip_id):
    """A clip's watermarked, low-resolution animated preview, shown like the thumbnail."""
    user = request_user(request, "read")
    if user is None:
        return HttpResponse("authentication required", status=401)
    clip = Clip.objects.filter(pk=clip_id).only("asset_id", "preview_key").first()
    asset = _shown_asset(user, clip.asset_id) if clip else None
    if asset is None or not clip.preview_key:
        raise Http404("no preview")
    return _image(clip.preview_key, "image/webp")


def price_lines(lines: list[dict]) -> list[dict]:
    """Stored price lines with their amounts as Money, for display."""
    return [{**line, "amount": Money(**line["amount"])} for line in lines]


def _asset_page(request: HttpRequest) -> dict[str, Any]:
    assets = (
        assets_of(request.user)
        .annotate(value_minor=Sum("clips__price_minor"))
        .order_by("-created_at")
    )
    page = Paginator(assets, ASSETS_PER_PAGE).get_page(request.GET.get("page"))
    currency = settings.RATE_CARD.currency
    shown = [a.pk for a in page]
    unattested = set(
        unattested_uploads(request.user).filter(pk__in=shown).values_list("pk", flat=True)
    )
    return {
        "page": page,
        "rows": [
            {
                "asset": a,
                "value": Money(a.value_minor or 0, currency),
                "unattested": a.pk in unattested,
            }
            for a in page
        ],
        "processing": any(a.status == Asset.Status.PROCESSING for a in page),
    }


@role_required(User.Role.CREATOR)
def footage(request: HttpRequest) -> HttpResponse:
    """A creator who has not accepted the current agreement still sees their assets, with a
    link to the agreement in place of the uploader."""
    token = None if needs_agreement(request.user) else browser_upload_token(request)
    awaiting = unattested_uploads(request.user).aggregate(n=Count("id"), until=Max("created_at"))
    return render(
        request,
        "catalog/footage.html",
        {
            "upload_token": token,
            "statements": OWNERSHIP_ATTESTATIONS.values(),
            "awaiting": awaiting["n"],
            "awaiting_until": awaiting["until"].isoformat() if awaiting["n"] else "",
            **_asset_page(request),
        },
    )


@role_required(User.Role.CREATOR)
def footage_assets(request: HttpRequest) -> HttpResponse:
    """The asset table alone: htmx polls it while anything is processing."""
    return render(request, "catalog/assets_table.html", _asset_page(request))


def _fact_label(key: str) -> str:
    """'duration_s' -> 'Duration (s)': probe keys carry their unit as a suffix."""
    for suffix, unit in (("_s", "s"), ("_bytes", "bytes")):
        if key.endswith(suffix):
            return f"{key.removesuffix(suffix).replace('_', ' ')} ({unit})".capitalize()
    return key.replace("_", " ").capitalize()


@role_required(User.Role.CREATOR)
def asset_detail(request: HttpRequest, asset_id) -> HttpResponse:
    asset = get_object_or_404(assets_of(request.user), pk=asset_id)
    terms, version = resolved_terms(asset)
    return render(
        request,
        "catalog/asset_detail.html",
        {
            "asset": asset,
            "facts": [
                (_fact_label(k), v) for k, v in asset.probe.items() if v not in (None, "", [], {})
            ],
            "clips": [
                {
                    "clip": c,
                    "price": Money(c.price_minor, c.currency),
                    "lines": price_lines(c.price_lines),
                    "held": sale_problem(c),
                }
                for c in asset.clips.select_related("asset")
            ],
            "holds": holds_on(asset),
            "attestation": upload_attestation(asset),
            "statements": OWNERSHIP_ATTESTATIONS.values(),
            "tags_form": TagsForm.for_tags(asset.creator_tags),
            "terms_form": TermsForm(terms=terms),
            "terms_version": version,
        },
    )


@require_POST
@role_required(User.Role.CREATOR)
def asset_tags(request: HttpRequest, asset_id) -> HttpResponse:
    asset = get_object_or_404(assets_of(request.user), pk=asset_id)
    form = TagsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose suggested tags from the list, or type your own.")
        return redirect("asset", asset_id=asset.id)
    try:
        set_creator_tags(request.user, asset, form.tags())
    except CatalogError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Tags saved; the value was recalculated.")
    return redirect("asset", asset_id=asset.id)


def _public_facts(clip: Clip) -> list[tuple[str, Any]]:
    """What a buyer may see of a clip: public metadata only, never the original's name."""
    meta = public_metadata(clip.asset.probe)
    facts = [("Resolution", f"{clip.width}×{clip.height}")]
    if clip.kind == "video":
        facts += [
            ("Duration", f"{clip.duration_s or 0:.1f} s"),
            ("Frame rate", f"{clip.fps or 0:.2f} fps"),
            ("Codec", meta.get("video_codec") or "—"),
            ("Audio", "yes" if meta.get("has_audio") else "no"),
        ]
    return facts


@role_required(User.Role.BUYER)
def catalogue(request: HttpRequest) -> HttpResponse:
    clips = available_clips(request.user.organization).order_by("-created_at")
    page = Paginator(clips, CLIPS_PER_PAGE).get_page(request.GET.get("page"))
    cards = [
        {
            "clip": c,
            "facts": _public_facts(c),
            "price": Money(c.price_minor, c.currency),
            "creator": c.asset.owner.pseudonym,
            "tags": c.tags,
            "creator_tags": c.asset.creator_tags,
        }
        for c in page
    ]
    return render(request, "catalog/catalogue.html", {"page": page, "cards": cards})
