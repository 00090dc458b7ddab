"""Assets leaving sales: third parties' rights claims, creators' withdrawals and shown people's
removal requests; the notices affected buyers must acknowledge.

Claims and removal requests need no account, so each only pauses the sales of what it names
(reversibly) until a reviewer decides, and one e-mail address or network address may make only a
few a day."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.catalog.models import Asset
from outtake.market.models import LicenseItem
from outtake.notices.services import notify_org, notify_reviewers
from outtake.rights.models import RemovalRequest, Revocation, RevocationNotice, RightsClaim
from outtake.rights.sellability import CLAIM_HOLDS, REMOVAL_HOLDS

log = logging.getLogger("outtake.rights")
# Claims and removal requests a day from one e-mail address; four times as many from one network
# address (people behind one router).
REQUESTS_PER_DAY = 5
MAX_TEXT = 5000


class ClaimError(ValueError):
    pass


class TooManyRequests(ClaimError):
    """The day's claims and removal requests from this e-mail or network address are used up."""


def _mail(address: str, subject: str, body: str) -> None:
    """Tell someone without an account, once the change is committed; never undo it on failure."""

    def send() -> None:
        try:
            send_mail(f"[Outtake] {subject}", body, None, [address])
        except Exception:
            log.exception("could not e-mail %s", address)

    transaction.on_commit(send)


def _requester(name: str, email: str, text: str, *, name_needed: bool) -> tuple[str, str, str]:
    """A requester's name, e-mail and text, checked: each fits where it is kept."""
    name, email, text = name.strip(), email.strip().lower(), text.strip()
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    if not email or len(email) > 254:
        raise ClaimError("give an e-mail address where you can be told the outcome")
    if (name_needed and not name) or len(name) > 200:
        raise ClaimError("give your name (at most 200 characters)")
    if not 20 <= len(text) <= MAX_TEXT:
        raise ClaimError(f"explain in a few sentences (20 to {MAX_TEXT} characters)")
    return name, email, text


def _within_limit(email: str, ip: str | None) -> None:
    since = timezone.now() - timedelta(days=1)
    by_email = RightsClaim.objects.filter(created_at__gte=since, claimant_email=email).count()
    by_email += RemovalRequest.objects.filter(created_at__gte=since, email=email).count()
    by_ip = 0
    if ip:
        by_ip = RightsClaim.objects.filter(created_at__gte=since, ip=ip).count()
        by_ip += RemovalRequest.objects.filter(created_at__gte=since, ip=ip).count()
    if by_email >= REQUESTS_PER_DAY or by_ip >= REQUESTS_PER_DAY * 4:
        raise TooManyRequests(
            "too many claims and removal requests from you today; try again tomorrow"
        )


def _asset(asset_id) -> Asset:
    asset = Asset.objects.select_related("owner").filter(pk=asset_id).first()
    if asset is None:
        raise ClaimError("no such footage")
    return asset


@transaction.atomic
def file_claim(
    asset_id, *, name: str, email: str, grounds: str, user=None, ip: str | None = None
) -> RightsClaim:
    """Anyone, with or without an account, claims rights in an asset: its sales pause now."""
    asset = _asset(asset_id)
    name, email, grounds = _requester(name, email, grounds, name_needed=True)
    _within_limit(email, ip)
    claim = RightsClaim.objects.create(
        asset=asset, claimant_name=name, claimant_email=email, claimant=user, grounds=grounds, ip=ip
    )
    record(
        "claim.filed",
        actor=user,
        org=asset.owner,
        subject=claim,
        data={"asset": str(asset.id), "claimant": email},
    )
    notify_org(
        asset.owner,
        "claim.filed",
        "A rights claim paused the sales of one of your assets",
        f"Someone claims rights in this asset: “{grounds[:500]}”. A reviewer will decide; "
        "until then its clips are not offered to buyers.",
        f"/assets/{asset.id}/",
    )
    notify_reviewers(
        "claim.filed", "A rights claim to review", grounds[:500], "/admin/rights/rightsclaim/"
    )
    _mail(
        email,
        "Your rights claim was received",
        "The asset's sales are paused until a reviewer decides; you will be told the outcome.",
    )
    return claim


@transaction.atomic
def resolve_claim(reviewer, claim: RightsClaim, *, upheld: bool, note: str = "") -> RightsClaim:
    """A reviewer decides: dismissed, sales resume; upheld, the asset stays out of sales and
    buyers who licensed it are told as for a revocation."""
    if not reviewer.is_reviewer:
        raise PermissionError("only reviewers resolve rights claims")
    claim = RightsClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.status != RightsClaim.Status.OPEN:
        raise ClaimError(f"this claim is already {claim.status}")
    claim.status = RightsClaim.Status.UPHELD if upheld else RightsClaim.Status.DISMISSED
    claim.resolved_by, claim.resolved_at, claim.resolution = reviewer, timezone.now(), note
    claim.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
    record(
        "claim.resolved",
        actor=reviewer,
        org=claim.asset.owner,
        subject=claim,
        data={"status": claim.status, "note": note},
    )
    outcome = "upheld: the asset stays out of sales" if upheld else "dismissed: sales resume"
    notify_org(claim.asset.owner, "claim.resolved", f"Rights claim {outcome}", note, "/footage/")
    _mail(claim.claimant_email, f"Your rights claim was {claim.status}", note or outcome)
    if upheld:
        revoke_clips(claim.asset, Revocation.Kind.CLAIM_UPHELD, reason=note, by=reviewer)
    return claim


@transaction.atomic
def withdraw_asset(user, asset: Asset, reason: str = "") -> Revocation:
    """The creator takes an asset out of future sales, at any time."""
    if asset.owner_id != user.organization_id:
        raise PermissionError("not your asset")
    if asset.withdrawn_at is None:
        Asset.objects.filter(pk=asset.pk).update(withdrawn_at=timezone.now())
    return revoke_clips(asset, Revocation.Kind.WITHDRAWAL, reason=reason, by=user)


@transaction.atomic
def request_removal(
    asset_id, *, email: str, reason: str, clip_id=None, name: str = "", ip: str | None = None
) -> RemovalRequest:
    """A person shown asks to be removed (data protection), with or without an account: the
    clip named (or, with none, every clip of the asset) leaves sales until a reviewer decides."""
    asset = _asset(asset_id)
    clip = None
    if clip_id:
        try:
            clip = asset.clips.filter(pk=uuid.UUID(str(clip_id))).first()
        except ValueError:
            clip = None
        if clip is None:
            raise ClaimError("that clip is not part of this footage")
    name, email, reason = _requester(name, email, reason, name_needed=False)
    _within_limit(email, ip)
    removal = RemovalRequest.objects.create(
        asset=asset, clip=clip, name=name, email=email, reason=reason, ip=ip
    )
    record(
        "removal.requested",
        org=asset.owner,
        subject=removal,
        data={"asset": str(asset.id), "clip": str(clip.id) if clip else None, "requester": email},
    )
    what = f"clip {clip.index + 1} of this asset" if clip else "this asset"
    notify_org(
        asset.owner,
        "removal.requested",
        "A person shown asked to be removed from your footage",
        f"Someone shown in {what} asks to be removed: “{reason[:500]}”. Its sales are paused "
        "while a reviewer checks the request; buyers are told only if it is upheld.",
        f"/assets/{asset.id}/",
    )
    notify_reviewers(
        "removal.requested",
        "A data-protection removal request to review",
        reason[:500],
        "/admin/rights/removalrequest/",
    )
    _mail(
        email,
        "Your removal request was received",
        "The footage you named is no longer offered while a reviewer checks your request; "
        "you will be told the outcome.",
    )
    return removal


@transaction.atomic
def resolve_removal(
    reviewer, removal: RemovalRequest, *, upheld: bool, note: str = ""
) -> RemovalRequest:
    """A reviewer decides. Upheld: the clips stay out of sales and licensees are told, as for
    any revocation. Rejected: sales resume, and the requester is told why."""
    if not reviewer.is_reviewer:
        raise PermissionError("only reviewers decide removal requests")
    note = note.strip()
    if not upheld and not note:
        raise ClaimError("say why the request is rejected: the person who asked is told")
    removal = RemovalRequest.objects.select_for_update().get(pk=removal.pk)
    if removal.status != RemovalRequest.Status.OPEN:
        raise ClaimError(f"this removal request is already {removal.status}")
    removal.status = RemovalRequest.Status.UPHELD if upheld else RemovalRequest.Status.REJECTED
    removal.resolved_by, removal.resolved_at, removal.resolution = reviewer, timezone.now(), note
    if upheld:
        removal.revocation = revoke_clips(
            removal.asset,
            Revocation.Kind.REMOVAL_REQUEST,
            reason=note or "A person shown asked to be removed.",
            by=reviewer,
            email=removal.email,
            clip_id=removal.clip_id,
        )
    removal.save(update_fields=["status", "resolved_by", "resolved_at", "resolution", "revocation"])
    record(
        "removal.resolved",
        actor=reviewer,
        org=removal.asset.owner,
        subject=removal,
        data={"status": removal.status, "note": note},
    )
    if upheld:
        outcome = "upheld: the footage stays out of sales and its licensees were told"
    else:
        outcome = f"rejected: sales resume. {note}"
    notify_org(
        removal.asset.owner,
        "removal.resolved",
        f"A removal request was {removal.status}",
        outcome,
        f"/assets/{removal.asset_id}/",
    )
    _mail(removal.email, f"Your removal request was {removal.status}", note or outcome)
    return removal


@dataclass(frozen=True)
class Hold:
    """What keeps (some of) an asset's clips out of sales, as its creator is shown it."""

    what: str
    status: str
    since: datetime
    why: str
    clip: int | None  # the clip's number, or None for every clip


def holds_on(asset: Asset) -> list[Hold]:
    """Open and upheld claims and removal requests on an asset, newest first."""
    holds = [
        Hold("rights claim", c.status, c.created_at, c.resolution or c.grounds, None)
        for c in asset.claims.filter(status__in=CLAIM_HOLDS)
    ]
    holds += [
        Hold(
            "removal request by a person shown",
            r.status,
            r.created_at,
            r.resolution or r.reason,
            r.clip.index + 1 if r.clip else None,
        )
        for r in asset.removal_requests.filter(status__in=REMOVAL_HOLDS).select_related("clip")
    ]
    return sorted(holds, key=lambda h: h.since, reverse=True)


def revoke_clips(asset: Asset, kind: str, *, reason: str, by=None, email: str = "", clip_id=None):
    """Record a revocation and send each affected license's buyer a notice to acknowledge."""
    revocation = Revocation.objects.create(
        asset=asset,
        clip_id=clip_id,
        kind=kind,
        reason=reason,
        requested_by=by,
        requester_email=email,
    )
    items = LicenseItem.objects.filter(clip__asset=asset).select_related("license__buyer")
    if clip_id is not None:
        items = items.filter(clip_id=clip_id)
    by_license: dict = {}
    for item in items:
        notice_days = item.terms_snapshot.get("terms", {}).get("training_stop_notice_days")
        entry = by_license.setdefault(item.license, ([], notice_days))
        entry[0].append(str(item.clip_id))
    for license, (clip_ids, notice_days) in by_license.items():
        notice = RevocationNotice.objects.create(
            revocation=revocation,
            license=license,
            clip_ids=clip_ids,
            training_stop_notice_days=notice_days,
        )
        clause = "No further deliveries of these clips will be made."
        if notice_days is not None:
            clause += (
                f" Under your license they may not be used in a training run started more "
                f"than {notice_days} days from now."
            )
        notify_org(
            license.buyer,
            "revocation.notice",
            f"Clips of your license were revoked ({revocation.get_kind_display()})",
            f"{len(clip_ids)} licensed clip(s) are affected. {clause} Please acknowledge.",
            f"/notices/revocations/{notice.id}/",
            data={
                "notice_id": notice.id,
                "license_id": str(license.id),
                "clip_ids": clip_ids,
                "kind": kind,
                "training_stop_notice_days": notice_days,
                "acknowledge": f"/api/revocation-notices/{notice.id}/acknowledge",
            },
        )
    record(
        f"revocation.{kind}",
        actor=by,
        org=asset.owner,
        subject=revocation,
        data={
            "asset": str(asset.id),
            "clip": str(clip_id) if clip_id else None,
            "licenses": sorted(str(lic.id) for lic in by_license),
            "requester": email,
        },
    )
    return revocation


def notices_for(user) -> QuerySet[RevocationNotice]:
    """Buyers see the notices to their licenses; creators those about their assets."""
    qs = RevocationNotice.objects.select_related(
        "revocation__asset", "license__buyer", "acknowledged_by"
    )
    if user.is_reviewer:
        return qs
    if user.is_buyer:
        return qs.filter(license__buyer=user.organization)
    return qs.filter(revocation__asset__owner=user.organization)


@transaction.atomic
def acknowledge(user, notice: RevocationNotice) -> RevocationNotice:
    if not user.is_buyer or notice.license.buyer_id != user.organization_id:
        raise PermissionError("only the licensee acknowledges its notices")
    notice = RevocationNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.acknowledged_at is None:
        notice.acknowledged_by, notice.acknowledged_at = user, timezone.now()
        notice.save(update_fields=["acknowledged_by", "acknowledged_at"])
        record(
            "revocation.acknowledged",
            actor=user,
            org=user.organization,
            subject=notice,
            data={"license": str(notice.license_id), "revocation": notice.revocation_id},
        )
        owner = notice.revocation.asset.owner
        notify_org(
            owner,
            "revocation.acknowledged",
            f"{notice.license.buyer.name_for_creators} acknowledged your revocation",
            "",
            "/revocations/",
        )
    return notice


def revoked_clip_ids(license) -> set[str]:
    """Clips of a license under a revocation: not to be delivered again."""
    return {
        cid
        for ids in RevocationNotice.objects.filter(license=license).values_list(
            "clip_ids", flat=True
        )
        for cid in ids
    }
