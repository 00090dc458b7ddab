"""Allow-list mode: a creator who chose it approves each deal before it is concluded."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.notices.services import notify_org
from outtake.rights.models import DealApproval

NOT_NEEDED = "not needed"


def creators_needing_approval(quote) -> set:
    return {
        item.creator_id
        for item in quote.items.all()
        if item.terms_snapshot["terms"].get("approval_required")
    }


def item_approval(quote, creator_id) -> str:
    """What a quote item shows: "not needed", "pending approval", "approved" or "refused"."""
    approval = next((a for a in quote.approvals.all() if a.creator_id == creator_id), None)
    if approval is not None:
        return "pending approval" if approval.status == "pending" else approval.status
    needed = any(
        i.creator_id == creator_id and i.terms_snapshot["terms"].get("approval_required")
        for i in quote.items.all()
    )
    return "pending approval" if needed else NOT_NEEDED


@transaction.atomic
def request_approvals(user, quote, via: str) -> list[DealApproval]:
    """The buyer accepted: ask each allow-list creator once. Returns those not yet approved."""
    waiting = []
    for creator_id in sorted(creators_needing_approval(quote), key=str):
        approval, created = DealApproval.objects.get_or_create(
            quote=quote,
            creator_id=creator_id,
            defaults={"requested_by": user, "requested_via": via},
        )
        if created:
            record(
                "deal.approval_requested",
                actor=user,
                org=approval.creator,
                subject=approval,
                data={"quote": str(quote.id), "buyer": str(quote.buyer_id)},
            )
            notify_org(
                approval.creator,
                "deal.approval_requested",
                f"{quote.buyer.name_for_creators} wants to license your clips",
                "You asked to approve each deal. Approve or refuse it on your approvals page.",
                "/approvals/",
            )
        if approval.status != DealApproval.Status.APPROVED:
            waiting.append(approval)
    return waiting


def approvals_for(user) -> QuerySet[DealApproval]:
    return DealApproval.objects.filter(creator=user.organization).select_related(
        "quote__buyer", "requested_by"
    )


@transaction.atomic
def decide(user, approval: DealApproval, *, approve: bool) -> DealApproval:
    """The creator approves or refuses. The last approval concludes the buyer's acceptance;
    a refusal withdraws the quote and the buyer is told."""
    from outtake.market.services import conclude_approved, withdraw_refused

    if not user.is_creator or approval.creator_id != user.organization_id:
        raise PermissionError("not your deal to approve")
    approval = DealApproval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != DealApproval.Status.PENDING:
        raise PermissionError(f"this deal is already {approval.status}")
    approval.status = DealApproval.Status.APPROVED if approve else DealApproval.Status.REFUSED
    approval.decided_by, approval.decided_at = user, timezone.now()
    approval.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        f"deal.{approval.status}",
        actor=user,
        org=user.organization,
        subject=approval,
        data={"quote": str(approval.quote_id)},
    )
    quote = approval.quote
    if not approve:
        withdraw_refused(quote)
    elif not quote.approvals.exclude(status=DealApproval.Status.APPROVED).exists():
        conclude_approved(quote, approval.requested_by, approval.requested_via)
    return approval
