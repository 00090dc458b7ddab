"""Helpers for money tests: sell clips, pay invoices, give creators payout details."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from outtake.ledger.models import Invoice, PayoutDestination
from outtake.ledger.services import issue_invoice
from outtake.market.services import mark_paid
from tests.factories import license_for, ready_clip


@pytest.fixture
def people(make_user):
    """Two creators with bank details, a buyer and a reviewer."""

    class People:
        creators = [make_user("creator"), make_user("creator")]
        buyer = make_user("buyer")
        reviewer = make_user("reviewer")

    for c in People.creators:
        give_destination(c.organization)
    return People


def give_destination(org, stripe_account: str = "") -> PayoutDestination:
    return PayoutDestination.objects.create(
        organization=org,
        holder_name=org.name,
        bank_account="DE89370400440532013000",
        bank_code="COBADEFFXXX",
        stripe_account=stripe_account,
    )


def sell(buyer, items: list[tuple]) -> Invoice:
    """Invoice a license over (creator user, price in cents) pairs, one new clip each."""
    lic = license_for(buyer, [(ready_clip(creator), price) for creator, price in items])
    return issue_invoice(lic)


def pay(invoice: Invoice, reviewer) -> None:
    mark_paid(invoice, amount_minor=invoice.amount_minor, reference=invoice.label, by=reviewer)


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency test needs PostgreSQL row locks and concurrent writers; SQLite "
            "serialises writers (set OUTTAKE_DATABASE_URL=postgres://… to run it)"
        )


def run_together(*calls):
    """Run callables in threads released at the same moment; return results or raise."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def worker(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results
