"""A refund's card part, sent after the ledger.

The refund's entry and its Refund row, the card part marked SENDING with a fresh idempotency
key, are saved in one transaction; once that commits a job asks the card provider under the
row's key. So no HTTP call runs while the invoice and the creators' accounts are locked, and
no card refund exists without its ledger entry. A job that gets no answer asks again with the
same key; the provider's answer and its later webhook updates are recorded on the row. A card
part that gave nothing back (refused, failed, canceled) moves to the buyer's credit, and a
reviewer sends it by transfer; one the provider makes after all takes back what is left of
that credit, and reviewers recover the rest.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Invoice, JournalEntry, Refund
from outtake.ledger.payments import CardRefund, NoAnswer, RefundRefused, card_provider
from outtake.ledger.services import (
    LedgerError,
    Line,
    buyer_credit,
    card_payment,
    lock,
    post,
    reverse,
    reviewer_only,
)
from outtake.notices.services import notify_org, notify_reviewers

Status = Refund.CardStatus


# Stripe keeps an idempotency key at least 24 hours: a card part is asked for under its key
# only this long after its refund, so a resend never reaches a forgotten key and refunds twice.
ASKED_FOR = timedelta(hours=20)
# The refund job's tries (tasks.send_card_refund): it asks again after 1, 3, 9 … minutes.
RETRIES, FIRST_RETRY_DELAY, RETRY_BACKOFF = 6, 60, 3
RETRYING_FOR = timedelta(seconds=sum(FIRST_RETRY_DELAY * RETRY_BACKOFF**n for n in range(RETRIES)))
# A card part still waiting once its job would have tried for the last time has lost its job:
# ask again. Sooner, a new chain of tries would only pile onto the job's own.
STUCK_AFTER = RETRYING_FOR + timedelta(minutes=30)


def send_card_refund(refund_id: int, *, last_try: bool) -> None:
    """Ask the card provider for a refund's card part. NoAnswer is raised for the job to ask
    again under the same key; on its last try, or once the key is too old to ask under,
    reviewers are told to look the refund up."""
    row = Refund.objects.select_related("invoice").get(pk=refund_id)
    if row.card_status != Status.SENDING:
        return  # answered already, by an earlier try or a webhook
    if timezone.now() - row.at > ASKED_FOR:
        hours = ASKED_FOR.total_seconds() / 3600
        _tell_unanswered(
            row,
            f"No answer in {hours:.0f} hours; it is not asked again, since the provider may "
            "forget its key and refund twice",
        )
        return
    try:
        answer = card_provider().refund(card_payment(row.invoice), row)
    except RefundRefused as exc:
        card_refund_updated(row.pk, CardRefund("", Status.REFUSED, str(exc)))
    except NoAnswer as exc:
        if not last_try:
            raise
        _tell_unanswered(row, str(exc))
    else:
        card_refund_updated(row.pk, answer)


def waiting_card_refunds() -> list[int]:
    """The card parts still waiting for the provider's first answer (their job lost to a
    restart, or never queued) that may be asked for again under their key; reviewers are
    told, once, of those too old to ask for."""
    now = timezone.now()
    waiting = Refund.objects.filter(card_status=Status.SENDING, at__lte=now - STUCK_AFTER)
    for row in waiting.filter(at__lte=now - ASKED_FOR, card_unanswered_at__isnull=True):
        send_card_refund(row.pk, last_try=True)
    return list(waiting.filter(at__gt=now - ASKED_FOR).values_list("pk", flat=True))


def _tell_unanswered(row: Refund, why: str) -> None:
    """Tell reviewers, once per card part, to look up a refund the provider never answered."""
    told = Refund.objects.filter(pk=row.pk, card_unanswered_at__isnull=True)
    if not told.update(card_unanswered_at=timezone.now()):
        return
    card = Money(row.card_minor, row.currency)
    notify_reviewers(
        "refund.card_unanswered",
        f"No answer about refunding {card} to the card ({row.invoice.label})",
        f"{why.rstrip('.')}. Look for a refund with metadata refund={row.pk} in the card "
        "provider's dashboard: if there is one, its webhook records it here; if there is none, "
        "mark this refund's card part as not made, and send it by transfer.",
        f"/admin/ledger/refund/{row.pk}/change/",
    )


@transaction.atomic
def card_refund_updated(refund_id: int, answer: CardRefund, *, by=None) -> Refund:
    """Record the provider's answer, or a later status, of a refund's card part. Only
    "succeeded" gave the money back. One that gave nothing back moves the card part to the
    buyer's credit, once. A repeated or late status never undoes a later one."""
    row = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("invoice__buyer")
        .get(pk=refund_id)
    )
    before, status = row.card_status, answer.status[:20]
    if before in Refund.GAVE_NOTHING:
        if status == Status.SUCCEEDED:
            _refunded_after_all(row, answer, by)
        return row
    if status == before or (before == Status.SUCCEEDED and status not in Refund.GAVE_NOTHING):
        return row
    row.card_status = status
    row.provider_reference = (answer.reference or row.provider_reference)[:200]
    row.save(update_fields=["card_status", "provider_reference"])
    record(
        "refund.card_status",
        actor=by,
        org=row.invoice.buyer,
        subject=row,
        data={
            "invoice": row.invoice.label,
            "card_minor": row.card_minor,
            "currency": row.currency,
            "status": status,
            "reference": row.provider_reference,
            "reason": answer.failure_reason[:300],
        },
    )
    if status in Refund.GAVE_NOTHING:
        _owe_by_transfer(row, answer.failure_reason or status)
    return row


def _owe_by_transfer(row: Refund, why: str) -> None:
    """The refund stands (the sale stays reversed); only its way back changes: the card part
    returns from cash to the buyer's credit, which a reviewer refunds by transfer."""
    invoice, card = row.invoice, Money(row.card_minor, row.currency)
    # A card part can give nothing back again after a late success: each time is its own move.
    number = len(_moves(row)) + 1
    key = f"refund.card_failed:{row.pk}" + (f":{number}" if number > 1 else "")
    post(
        "refund.card_failed",
        f"{invoice.label}: {card} did not go back to the card ({why}); held as the buyer's "
        "credit, to send by transfer",
        [
            Line(chart.cash(row.currency), card),
            Line(chart.buyer_credit(invoice.buyer, row.currency), -card),
        ],
        license=invoice.license,
        idempotency_key=key,
    )
    notify_reviewers(
        "refund.transfer",
        f"Send {card} back to {invoice.buyer.name} ({invoice.label}): "
        f"the card refund was {row.get_card_status_display().lower()}",
        f"{why.rstrip('.')}. It is held as the buyer's credit: refund their credit (Invoices, "
        '"Refund the buyer\'s credit"), then make the transfer from the client-money account.',
        f"/admin/ledger/refund/{row.pk}/change/",
    )
    notify_org(
        invoice.buyer,
        "refund",
        f"{card} could not go back to your card",
        f"The refund on {invoice.label} could not be made to your card: {card} is sent to you "
        "by bank transfer instead.",
        f"/licenses/{invoice.license_id}/",
    )


def _moves(row: Refund) -> list[JournalEntry]:
    """The entries that moved a card part to the buyer's credit, oldest first."""
    key = f"refund.card_failed:{row.pk}"
    keyed = Q(idempotency_key=key) | Q(idempotency_key__startswith=f"{key}:")
    return list(JournalEntry.objects.filter(keyed).order_by("pk"))


def _refunded_after_all(row: Refund, answer: CardRefund, by) -> None:
    """The provider made a card refund after its part was moved to the buyer's credit (a late
    webhook, or a "no refund at the provider" that was wrong). What the credit still holds of
    it is taken back (the latest move reversed when it holds all of it); what was sent or
    spent meanwhile the buyer has twice, and reviewers are told to recover just that. The row
    then records the success, so this runs once per move."""
    invoice, card = row.invoice, Money(row.card_minor, row.currency)
    credit = chart.buyer_credit(invoice.buyer, row.currency)
    lock(credit)
    taken = Money(
        max(0, min(buyer_credit(invoice.buyer, row.currency).minor, card.minor)), card.currency
    )
    recover = card - taken
    moved = _moves(row)[-1]
    memo = f"{invoice.label}: {card} went back to the card after all"
    if not recover.minor:
        reverse(moved, memo)
    elif taken.minor:
        post(
            "refund.card_late",
            f"{memo}; {taken} of it taken back from the buyer's credit",
            [Line(chart.cash(row.currency), -taken), Line(credit, taken)],
            license=invoice.license,
            idempotency_key=f"refund.card_late:{moved.pk}",
        )
    row.card_status = Status.SUCCEEDED
    row.provider_reference = (answer.reference or row.provider_reference)[:200]
    row.save(update_fields=["card_status", "provider_reference"])
    record(
        "refund.card_late",
        actor=by,
        org=invoice.buyer,
        subject=row,
        data={
            "invoice": invoice.label,
            "card_minor": row.card_minor,
            "currency": row.currency,
            "reference": row.provider_reference,
            "credit_taken_back_minor": taken.minor,
            "to_recover_minor": recover.minor,
        },
    )
    link = f"/admin/ledger/refund/{row.pk}/change/"
    if not recover.minor:
        notify_reviewers(
            "refund.card_late",
            f"{card} went back to the card after all ({invoice.label}, {row.provider_reference})",
            "It is no longer held as the buyer's credit: do not send it by transfer.",
            link,
        )
        told = "it is not sent to you by bank transfer."
    else:
        held = (
            f"{taken} still held as their credit was taken back, and the rest"
            if taken.minor
            else "that credit"
        )
        notify_reviewers(
            "refund.card_late",
            f"Recover {recover} from {invoice.buyer.name}: refunded twice ({invoice.label})",
            f"The card refund {row.provider_reference} succeeded after {card} was moved to the "
            f"buyer's credit; {held} has since been refunded by transfer or used: ask the buyer "
            f"to return {recover}.",
            link,
        )
        told = (
            f"{recover} of it had also been sent to you another way; we will be in touch about it."
        )
    notify_org(
        invoice.buyer,
        "refund",
        f"{card} went back to your card after all",
        f"The refund on {invoice.label} reached your card: {told}",
        f"/licenses/{invoice.license_id}/",
    )


def card_refund_not_made(row: Refund, *, by) -> Refund:
    """A reviewer found no refund at the provider for a card part it never answered about:
    the card part is owed by transfer."""
    reviewer_only(by, "settle card refunds")
    if row.card_status != Status.SENDING:
        shown = row.get_card_status_display().lower()
        raise LedgerError(f"its card part is {shown}, not waiting for an answer")
    why = "no refund was found at the card provider"
    return card_refund_updated(row.pk, CardRefund("", Status.REFUSED, why), by=by)


def refund_updated(refund: dict) -> tuple[Invoice | None, str]:
    """A card refund's status from the provider's webhook: (its invoice, the outcome). A
    refund made in the provider's dashboard, not through Outtake, is ignored."""
    reference = str(refund.get("id") or "")
    ours = str((refund.get("metadata") or {}).get("refund") or "")
    row = Refund.objects.filter(provider_reference=reference).first() if reference else None
    if row is None and ours.isdigit():
        row = Refund.objects.exclude(card_key="").filter(pk=int(ours)).first()
    if row is None:
        return None, "ignored"
    status = str(refund.get("status") or "")
    row = card_refund_updated(
        row.pk, CardRefund(reference, status, str(refund.get("failure_reason") or ""))
    )
    return row.invoice, f"refund {row.card_status}"
