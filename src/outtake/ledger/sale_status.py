"""Where each of a creator's sales stands: pending, payable, payout pending, paid, refunded
or cancelled, taken from the payouts actually made.

A creator's payable balance is paid out oldest share first: every share that became payable
(its invoice paid) is a lot; payouts take from the oldest lots, a refund from its own sale's
lot first, a clawback recovery from the oldest; a reversed payout puts back what it took.
A sale is paid once payouts sent before the moment asked about have taken all of its lot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, Sum
from django.utils import timezone

from outtake.ledger import chart
from outtake.ledger.models import JournalEntry, Payout, Posting, Refund
from outtake.market.models import License


@dataclass(eq=False)  # lots are told apart by identity: two may hold the same numbers
class _Lot:
    license_id: object
    left: int
    payouts: set = field(default_factory=set)  # ids of the payouts that took from it


def sale_statuses(org, currency: str, end: datetime | None = None) -> dict:
    """Status of each sale of the creator (zero shares included) at `end`, by license id."""
    end = end or timezone.now()
    pending_acc = chart.creator_pending(org, currency)
    sold = set(
        JournalEntry.objects.filter(kind="sale", at__lt=end, license__currency=currency)
        .filter(Q(postings__account=pending_acc) | Q(license__items__creator=org))
        .values_list("license_id", flat=True)
    )
    events: dict = {license_id: set() for license_id in sold}
    for license_id, kind in JournalEntry.objects.filter(
        license_id__in=sold, at__lt=end, kind__in=("payment", "void")
    ).values_list("license_id", "kind"):
        events[license_id].add(kind)
    refunded = dict(
        Refund.objects.filter(invoice__license_id__in=sold, at__lt=end, entry__kind="refund")
        .values_list("invoice__license_id")
        .annotate(total=Sum("amount_minor"))
    )
    totals = dict(License.objects.filter(pk__in=sold).values_list("pk", "total_minor"))
    lots = _lots(chart.creator_payable(org, currency), end)
    sent = set(Payout.objects.filter(creator=org, sent_at__lt=end).values_list("pk", flat=True))
    status = {}
    for license_id in sold:
        lic_events = events[license_id]
        lot = lots.get(license_id)
        if "void" in lic_events:
            status[license_id] = "cancelled"
        elif "payment" not in lic_events:
            status[license_id] = "pending"
        elif refunded.get(license_id, 0) >= totals[license_id]:
            status[license_id] = "refunded"
        elif lot is None or not lot.left:
            unsent = lot is not None and bool(lot.payouts - sent)
            status[license_id] = "payout pending" if unsent else "paid"
        else:
            status[license_id] = "payable"
    return status


def _lots(payable_acc, end: datetime) -> dict:
    """Replay the payable account up to `end`: each sale's lot and what took from it."""
    queue: deque[_Lot] = deque()
    by_license: dict = {}
    taken: dict = {}  # payout entry id -> [(lot, amount)], to put back on a reversal
    payouts = dict(
        Payout.objects.filter(entry__postings__account=payable_acc).values_list("entry_id", "pk")
    )
    reversals = dict(
        Payout.objects.filter(reversal__isnull=False, creator=payable_acc.organization).values_list(
            "reversal_id", "entry_id"
        )
    )
    postings = (
        Posting.objects.filter(account=payable_acc, entry__at__lt=end)
        .select_related("entry")
        .order_by("entry__at", "entry_id", "id")
    )
    for p in postings:
        entry = p.entry
        amount = -p.amount_minor  # what became payable (+) or left the balance (-)
        if amount > 0 and entry.id in reversals:
            for lot, part in reversed(taken.pop(reversals[entry.id], [])):
                lot.left += part
                lot.payouts.discard(payouts.get(reversals[entry.id]))
                if lot not in queue:
                    queue.appendleft(lot)
        elif amount > 0:
            lot = _Lot(entry.license_id, amount)
            queue.append(lot)
            if entry.license_id is not None:
                by_license[entry.license_id] = lot
        else:
            own = by_license.get(entry.license_id) if entry.kind == "refund" else None
            took = _take(queue, -amount, first=own)
            if entry.id in payouts:
                taken[entry.id] = took
                for lot, _ in took:
                    lot.payouts.add(payouts[entry.id])
    return by_license


def _take(queue: deque[_Lot], amount: int, first: _Lot | None = None) -> list[tuple[_Lot, int]]:
    """Take amount from the lots, `first` (a refund's own sale) then the oldest."""
    took = []
    order = ([first] if first is not None and first.left else []) + [
        lot for lot in queue if lot is not first
    ]
    for lot in order:
        if amount <= 0:
            break
        part = min(lot.left, amount)
        if part:
            lot.left -= part
            amount -= part
            took.append((lot, part))
    for lot in [lot for lot in queue if not lot.left]:
        queue.remove(lot)
    return took
