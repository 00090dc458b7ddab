"""Assets leaving sales: third parties' rights claims, creators' withdrawals and shown people's
removal requests; the notices affected buyers must acknowledge."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.catalog.models import Asset
from outtake.market.models import LicenseItem
from outtake.notices.services import notify_org, notify_reviewers
from outtake.rights.models import Revocation, RevocationNotice, RightsClaim

log = logging.getLogger("outtake.rights")


class ClaimError(ValueError):
    pass


def _mail(address: str, subject: str, body: str) -> None:
    """Tell someone without an account, once the change is committed; never undo it on failure."""

    def send() -> None:
        try:
            send_mail(f"[Outtake] {subject}", body, None, [address])
        except Exception:
            log.exception("could not e-mail %s", address)

    transaction.on_commit(send)


@transaction.atomic
def file_claim(asset_id, *, name: str, email: str, grounds: str, user=None) -> RightsClaim:
    """Anyone, with or without an account, claims rights in an asset: its sales pause now."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        raise ClaimError("no such asset")
    name, email, grounds = name.strip(), email.strip().lower(), grounds.strip()
    if not name or "@" not in email or len(grounds) < 20:
        raise ClaimError("give your name, an e-mail address and the grounds (a few sentences)")
    claim = RightsClaim.objects.create(
        asset=asset, claimant_name=name[:200], claimant_email=email, claimant=user, grounds=grounds
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
def request_removal(asset_id, *, email: str, reason: str, clip_id=None) -> Revocation:
    """A person shown asks to be removed (data protection), with or without an account: the
    asset leaves sales at once and licensed buyers are told, as for a withdrawal."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        raise ClaimError("no such asset")
    email = email.strip().lower()
    if "@" not in email:
        raise ClaimError("an e-mail address is needed to tell you the outcome")
    if asset.withdrawn_at is None:
        Asset.objects.filter(pk=asset.pk).update(withdrawn_at=timezone.now())
    revocation = revoke_clips(
        asset, Revocation.Kind.REMOVAL_REQUEST, reason=reason, email=email, clip_id=clip_id
    )
    notify_org(
        asset.owner,
        "removal.requested",
        "A person shown asked to be removed",
        "The asset has left sales; buyers who licensed it have been told.",
        f"/assets/{asset.id}/",
    )
    notify_reviewers("removal.requested", "A data-protection removal request", reason[:500])
    _mail(email, "Your removal request was received", "The footage is no longer offered.")
    return revocation


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
    qs = RevocationNotice.objects.select_related("revocation__asset", "license", "acknowledged_by")
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
