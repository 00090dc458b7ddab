"""Whether rights let a creator upload, and a clip be sold and shown to a buyer now.

One rule with two readings: `sale_problem` gives the reason for one clip (quotes, the creator's
pages), `for_sale` and `offered_to` apply the same conditions to a queryset of clips
(market.services.available_clips, and through it everything a buyer is shown: the catalogue,
the API, thumbnails and contact sheets, collections and quotes)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from outtake.accounts.models import Attestation
from outtake.accounts.services import (
    accepted_current_agreement,
    agreement_version,
    current_agreements,
)
from outtake.catalog.models import Clip
from outtake.rights.models import RemovalRequest, Revocation, RightsClaim, TermsVersion
from outtake.rights.releases import release_blocked, release_problem

AGREEMENT_MISSING = "creator has not accepted the current creator agreement"
NOT_ATTESTED = "the creator has not attested owning this upload"
WITHDRAWN = "withdrawn from sale by the creator"
CLAIMED = "held by a rights claim"
REMOVAL_ASKED = "held by a removal request from a person shown"
# Open: paused while a reviewer decides; upheld: out of sales for good.
CLAIM_HOLDS = (RightsClaim.Status.OPEN, RightsClaim.Status.UPHELD)
REMOVAL_HOLDS = (RemovalRequest.Status.OPEN, RemovalRequest.Status.UPHELD)


class AgreementRequired(PermissionError):
    """A creator who must (re)accept the creator agreement first; the message says how."""


def require_current_agreement(user) -> None:
    """Refuse an upload by a creator who has not accepted the current agreement version."""
    if user.is_creator and not accepted_current_agreement(user.organization_id):
        raise AgreementRequired(
            f"Accept the current creator agreement ({agreement_version()}) before uploading: "
            "read and accept it at /agreement/ (or POST /api/agreement with your token). "
            "Your clips are not offered to buyers until you do."
        )


def _conditions() -> list[tuple[str, Q]]:
    """What a clip needs to be sold, each as a filter on clips with the reason it fails."""
    agreed = current_agreements().filter(organization=OuterRef("asset__owner"))
    attested = Attestation.objects.filter(scope=Attestation.Scope.UPLOAD, asset=OuterRef("asset"))
    this_clip = Q(clip__isnull=True) | Q(clip=OuterRef("pk"))
    claimed = RightsClaim.objects.filter(asset=OuterRef("asset"), status__in=CLAIM_HOLDS)
    removal = RemovalRequest.objects.filter(
        this_clip, asset=OuterRef("asset"), status__in=REMOVAL_HOLDS
    )
    # An upheld decision also left a revocation, which is never deleted: the hold stands on
    # it too, not on the request's row alone.
    revoked = Revocation.objects.filter(this_clip, asset=OuterRef("asset"))
    claim_revoked = revoked.filter(kind=Revocation.Kind.CLAIM_UPHELD)
    removal_revoked = revoked.filter(kind=Revocation.Kind.REMOVAL_REQUEST)
    return [
        (AGREEMENT_MISSING, Q(Exists(agreed))),
        (NOT_ATTESTED, Q(Exists(attested))),
        (WITHDRAWN, Q(asset__withdrawn_at__isnull=True)),
        (CLAIMED, ~Q(Exists(claimed)) & ~Q(Exists(claim_revoked))),
        (REMOVAL_ASKED, ~Q(Exists(removal)) & ~Q(Exists(removal_revoked))),
    ]


def sale_problem(clip) -> str:
    """Why rights keep a clip out of sale now, or "": the reason shown in quotes and to the
    creator."""
    one = Clip.objects.filter(pk=clip.pk)
    for reason, condition in _conditions():
        if not one.filter(condition).exists():
            return reason
    return release_problem(clip)


def for_sale(clips: QuerySet[Clip]) -> QuerySet[Clip]:
    """The clips sale_problem has nothing against."""
    for _, condition in _conditions():
        clips = clips.filter(condition)
    return clips.exclude(id__in=release_blocked(clips))


def refuses(terms: dict[str, Any], buyer_org) -> bool:
    """Whether a creator's terms refuse this buyer, by name or by kind."""
    if str(buyer_org.pk) in terms.get("refused_buyers", []):
        return True
    return bool(buyer_org.category) and buyer_org.category in terms.get("refused_categories", [])


def offered_to(clips: QuerySet[Clip], buyer_org) -> QuerySet[Clip]:
    """The clips whose creator's terms (the asset's own, else the creator's default) do not
    refuse this buyer: a refused buyer is shown none of them, anywhere. No buyer (what the
    catalogue holds in general): every clip."""
    if buyer_org is None:
        return clips
    # Only versions naming the buyer or its kind can refuse it; refuses() decides exactly.
    naming = Q(terms__icontains=str(buyer_org.pk))
    if buyer_org.category:
        naming |= Q(terms__icontains=f'"{buyer_org.category}"')
    newer = TermsVersion.objects.filter(
        organization=OuterRef("organization"), version__gt=OuterRef("version")
    )
    defaults = TermsVersion.objects.filter(asset__isnull=True).exclude(
        Exists(newer.filter(asset__isnull=True))
    )
    overrides = TermsVersion.objects.filter(asset__isnull=False).exclude(
        Exists(newer.filter(asset=OuterRef("asset")))
    )
    refusing_orgs = {
        v.organization_id for v in defaults.filter(naming) if refuses(v.terms, buyer_org)
    }
    refusing_assets = {v.asset_id for v in overrides.filter(naming) if refuses(v.terms, buyer_org)}
    overridden = TermsVersion.objects.filter(asset__isnull=False).values("asset")
    return clips.exclude(asset_id__in=refusing_assets).exclude(
        Q(asset__owner_id__in=refusing_orgs) & ~Q(asset_id__in=overridden)
    )
