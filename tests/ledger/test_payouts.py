import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from outtake.audit.models import AuditEvent
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Payout
from outtake.ledger.payouts import (
    HttpResponse,
    PayoutFailed,
    PayoutResult,
    StripeConnect,
    run_payouts,
)
from outtake.ledger.services import Line, balance, post, trial_balance
from outtake.notices.models import Notification
from outtake.storage import get_store
from tests.ledger.conftest import give_destination, pay, require_postgres, run_together, sell

pytestmark = pytest.mark.django_db


def payable(user) -> int:
    return -balance(chart.creator_payable(user.organization, "USD")).minor


class FakeStripe:
    """Answers like Stripe's API and checks each request is what Stripe documents for
    creating a transfer: a form-encoded POST to /v1/transfers with a bearer key and an
    Idempotency-Key. Like Stripe, it replays the transfer a key made until it forgets its keys
    (after 24 h or more), answers another request under a known key with an idempotency_error,
    and lists the transfers made (GET /v1/transfers, newest first, in pages)."""

    LOST = "made, reply lost"  # an answer: the transfer is made, the caller times out

    def __init__(self, answers=None, by_destination=None, lookups=None):
        """answers: for the requests in the order they come; by_destination: for requests to
        one connected account (the order creators are paid in is not the test's to fix);
        lookups: for the GET requests, in order (none: the transfers made)."""
        self.answers = list(answers or [])
        self.by_destination = {k: list(v) for k, v in (by_destination or {}).items()}
        self.lookups = list(lookups or [])
        self.requests: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.made: dict[str, dict] = {}  # the transfer each remembered key made
        self.transfers: list[dict] = []  # every transfer made, oldest first
        self.listed: list[dict] = []  # the query of each GET

    def post(self, url, *, body, headers):
        assert url == "https://api.stripe.com/v1/transfers"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert headers["Authorization"] == "Bearer sk_test_123"
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
        assert set(form) >= {"amount", "currency", "destination"}
        assert form["amount"].isdigit() and int(form["amount"]) > 0
        assert form["currency"] == form["currency"].lower() and len(form["currency"]) == 3
        assert form["destination"].startswith("acct_")
        key = headers["Idempotency-Key"]
        self.requests.append(form)
        if self.by_key.setdefault(key, form) != form:  # same key, different request
            message = "Keys for idempotent requests can only be used with the same parameters"
            error = {"type": "idempotency_error", "message": message}
            return HttpResponse(400, json.dumps({"error": error}).encode())
        if key in self.made:
            return HttpResponse(200, json.dumps(self.made[key]).encode())
        queue = self.by_destination.get(form["destination"]) or self.answers
        answer = queue.pop(0) if queue else None
        if isinstance(answer, Exception):
            raise answer
        if answer is not None and answer != self.LOST:
            return HttpResponse(answer[0], json.dumps(answer[1]).encode())
        transfer = {
            "id": f"tr_{len(self.requests)}",
            "object": "transfer",
            "amount": int(form["amount"]),
            "destination": form["destination"],
            "transfer_group": form.get("transfer_group"),
            "metadata": {
                k.removeprefix("metadata[").removesuffix("]"): v
                for k, v in form.items()
                if k.startswith("metadata[")
            },
        }
        self.made[key] = transfer
        self.transfers.append(transfer)
        if answer == self.LOST:
            raise TimeoutError("read timed out")
        return HttpResponse(200, json.dumps(transfer).encode())

    def forget_keys(self) -> None:
        """What Stripe may do a day after: a key's next use makes a new transfer."""
        self.by_key.clear()
        self.made.clear()

    def get(self, url, *, headers):
        parts = urlsplit(url)
        assert (
            f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.stripe.com/v1/transfers"
        )
        assert headers["Authorization"] == "Bearer sk_test_123"
        query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
        self.listed.append(query)
        answer = self.lookups.pop(0) if self.lookups else None
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return HttpResponse(answer[0], json.dumps(answer[1]).encode())
        limit = int(query.get("limit", "10"))
        assert 1 <= limit <= 100
        found = [
            t
            for t in reversed(self.transfers)
            if query.get("transfer_group") in (None, t["transfer_group"])
        ]
        if "starting_after" in query:
            ids = [t["id"] for t in found]
            found = found[ids.index(query["starting_after"]) + 1 :]
        page = found[:limit]
        body = {"object": "list", "data": page, "has_more": len(found) > limit}
        return HttpResponse(200, json.dumps(body).encode())


def test_csv_run_pays_balances_over_the_minimum(people):
    rich, poor = people.creators
    pay(sell(people.buyer, [(rich, 2000), (poor, 1000)]), people.reviewer)  # 17.00 and 8.50
    report = run_payouts()
    assert [p.creator for p in report.sent] == [rich.organization]
    assert report.below_minimum == 1
    assert payable(rich) == 0 and payable(poor) == 850
    rows = get_store().get_bytes(report.bank_file).decode().splitlines()
    assert rows[0].startswith("payout_id,payee,bank_account")
    assert rows[1].endswith(f",17.00,USD,Outtake payout {report.sent[0].pk}")
    assert balance(chart.cash("USD")).minor == 3000 - 1700
    assert Notification.objects.filter(user=rich, kind="payout.sent").exists()
    assert AuditEvent.objects.filter(kind="payout.sent").count() == 1
    assert trial_balance() == {"USD": 0}


def test_same_run_pays_once(people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 5000)]), people.reviewer)
    run_payouts(run="2026-11")
    pay(sell(people.buyer, [(creator, 5000)]), people.reviewer)
    again = run_payouts(run="2026-11")
    assert not again.sent and Payout.objects.count() == 1
    assert payable(creator) == 4250
    assert len(run_payouts(run="2026-12").sent) == 1


def owe(user, money: Money) -> None:
    """Make a creator's payable balance (as a paid sale would) in any currency."""
    org = user.organization
    post(
        "test",
        "payable",
        [
            Line(chart.cash(money.currency), money),
            Line(chart.creator_payable(org, money.currency), -money),
        ],
    )


def test_the_payout_minimum_is_set_per_currency(people):
    dollars, yen = people.creators
    owe(dollars, Money(1500, "USD"))
    owe(yen, Money(500, "JPY"))  # ¥500: above "10", below the yen minimum
    with override_settings(OUTTAKE_PAYOUT_MINIMUMS={"USD": 1000, "JPY": 1500}):
        report = run_payouts(run="r1")
    assert [(p.creator, p.gross) for p in report.sent] == [
        (dollars.organization, Money(1500, "USD"))
    ]
    assert report.below_minimum == 1
    owe(yen, Money(1000, "JPY"))
    with override_settings(OUTTAKE_PAYOUT_MINIMUMS={"USD": 1000}):  # none set for yen
        report = run_payouts(run="r2")
    assert not report.sent
    assert report.skipped == [
        (yen.organization.pseudonym, "no payout minimum is set for JPY (settings)")
    ]
    with override_settings(OUTTAKE_PAYOUT_MINIMUMS={"JPY": 1500}):
        [paid] = run_payouts(run="r3").sent
    assert paid.gross == Money(1500, "JPY") and paid.net == Money(1500, "JPY")


@override_settings(OUTTAKE_WITHHOLDING_RATE="0.24")
def test_withholding_is_applied_and_shown(people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 10001)]), people.reviewer)  # share 85.01
    [payout] = run_payouts().sent
    assert (payout.gross_minor, payout.withholding_minor, payout.net_minor) == (8501, 2040, 6461)
    assert -balance(chart.tax_withheld("USD")).minor == 2040
    note = Notification.objects.get(user=creator, kind="payout.sent")
    assert "20.40 USD tax withheld at 24.00%" in note.body and "64.61" in note.subject


def test_creators_without_details_are_told_and_skipped(people, make_user):
    newcomer = make_user("creator")
    pay(sell(people.buyer, [(newcomer, 5000)]), people.reviewer)
    report = run_payouts()
    assert report.skipped == [(newcomer.organization.pseudonym, "no bank account on file")]
    assert payable(newcomer) == 4250
    assert Notification.objects.filter(user=newcomer, kind="payout.skipped").exists()


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_stripe_sends_documented_transfers(make_user, people):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_1Nv0FGQ9RKHgCVdK")
    bank_only = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000), (bank_only, 2000)]), people.reviewer)
    stripe = FakeStripe()
    report = run_payouts(provider=StripeConnect(http=stripe), run="r1")
    [payout] = report.sent
    assert payout.provider_reference == "tr_1"
    assert stripe.requests == [
        {
            "amount": "1700",
            "currency": "usd",
            "destination": "acct_1Nv0FGQ9RKHgCVdK",
            "transfer_group": "outtake-run-r1",
            "description": f"Outtake payout {payout.pk}",
            "metadata[payout_id]": str(payout.pk),
            "metadata[creator]": creator.organization.pseudonym,
        }
    ]
    assert list(stripe.by_key) == [f"outtake-payout-{payout.pk}"]
    assert report.skipped == [
        (bank_only.organization.pseudonym, "no Stripe connected account on file")
    ]


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_refused_transfer_is_reversed_and_retried_next_run(make_user, people):
    ok, refused = make_user("creator"), make_user("creator")
    give_destination(ok.organization, stripe_account="acct_ok")
    give_destination(refused.organization, stripe_account="acct_closed")
    pay(sell(people.buyer, [(ok, 2000), (refused, 3000)]), people.reviewer)
    closed = (400, {"error": {"type": "invalid_request_error", "message": "account closed"}})
    stripe = FakeStripe(by_destination={"acct_closed": [closed]})
    report = run_payouts(provider=StripeConnect(http=stripe), run="r1")
    assert [p.creator for p in report.sent] == [ok.organization]
    [failed] = report.failed
    assert failed.status == Payout.Status.REVERSED and "account closed" in failed.error
    assert payable(refused) == 2550 and payable(ok) == 0
    assert Notification.objects.filter(user=refused, kind="payout.failed").exists()
    assert trial_balance() == {"USD": 0}
    retry = run_payouts(provider=StripeConnect(http=stripe), run="r2")
    assert [p.creator for p in retry.sent] == [refused.organization]
    assert payable(refused) == 0
    assert balance(chart.cash("USD")).minor == 5000 - 1700 - 2550


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_ambiguous_failure_is_retried_with_the_same_key(make_user, people):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    stripe = FakeStripe(answers=[TimeoutError("read timed out"), (500, {})])
    first = run_payouts(provider=StripeConnect(http=stripe), run="r1")
    second = run_payouts(provider=StripeConnect(http=stripe), run="r2")
    third = run_payouts(provider=StripeConnect(http=stripe), run="r3")
    assert len(first.pending) == 1 and len(second.pending) == 1
    assert [p.pk for p in third.sent] == [first.pending[0].pk]
    assert len(stripe.requests) == 3 and len(stripe.by_key) == 1  # one key, never paid twice
    assert Payout.objects.count() == 1 and payable(creator) == 0


def test_provider_fees_are_an_expense(people):
    class Charging:
        name = "charging"

        def cannot_pay(self, destination):
            return ""

        def snapshot(self, destination):
            return {}

        def begin(self, run):
            pass

        def send(self, payout):
            return PayoutResult(reference="x", fee_minor=25)

        def finish(self, run):
            return ""

    pay(sell(people.buyer, [(people.creators[0], 2000)]), people.reviewer)
    run_payouts(provider=Charging())
    assert balance(chart.payout_fees("USD")) == Money(25)
    assert balance(chart.cash("USD")).minor == 2000 - 1700 - 25


def test_unknown_provider_and_bad_rate():
    with pytest.raises(ValueError, match="unknown payout provider"):
        run_payouts("paypal")
    with override_settings(OUTTAKE_WITHHOLDING_RATE=Decimal("1.5")):
        from outtake.ledger.payouts import withholding_rate

        with pytest.raises(ValueError):
            withholding_rate()


def test_failed_is_definite_by_default():
    assert PayoutFailed("no").definite


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_run", [True, False])
def test_concurrent_runs_pay_each_creator_once(people, same_run):
    require_postgres()
    c1, c2 = people.creators
    pay(sell(people.buyer, [(c1, 2000), (c2, 3000)]), people.reviewer)
    runs = ("r", "r") if same_run else ("a", "b")
    reports = run_together(*(lambda r=r: run_payouts(run=r) for r in runs))
    assert sorted(p.creator_id for r in reports for p in r.sent) == sorted(
        [c1.organization_id, c2.organization_id]
    )
    assert Payout.objects.count() == 2
    assert payable(c1) == payable(c2) == 0
    assert trial_balance() == {"USD": 0}


def test_the_bank_account_kept_on_a_payout_is_encrypted_and_never_shown(people, client):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    [payout] = run_payouts().sent
    number = creator.organization.payout_destination.bank_account
    assert payout.bank_account == number
    assert number in get_store().get_bytes(payout.provider_reference.split(":")[0]).decode()
    with connection.cursor() as cur:
        cur.execute("SELECT bank_account FROM ledger_payout WHERE id = %s", [payout.pk])
        (raw,) = cur.fetchone()
    assert raw.startswith("gAAAA") and number[-4:] not in raw
    client.force_login(people.reviewer)
    page = client.get(f"/admin/ledger/payout/{payout.pk}/change/")
    assert page.status_code == 200 and number not in page.content.decode()


class Unanswered:
    """A provider that never answers: what it reserves stays pending, kept nowhere."""

    name = "csv"

    def cannot_pay(self, destination):
        return ""

    def snapshot(self, destination):
        return {}

    def begin(self, run):
        pass

    def send(self, payout):
        raise PayoutFailed("no answer", definite=False)

    def finish(self, run):
        return ""


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_current_destination_on_pending_payouts(people, make_user):
    bank, stripe = people.creators[0], make_user("creator")
    give_destination(stripe.organization, stripe_account="acct_x")
    pay(sell(people.buyer, [(bank, 2000), (stripe, 2000)]), people.reviewer)
    run_payouts(provider=Unanswered(), run="r1")  # two payouts reserved before 0014
    Payout.objects.filter(creator=stripe.organization).update(provider="stripe")
    before = ("ledger", "0013_card_checkout_amount")
    after = ("ledger", "0014_payout_destination_snapshot")
    MigrationExecutor(connection).migrate([before])
    executor = MigrationExecutor(connection)
    executor.migrate([after])
    # Read as the model stood after the migration: later ones may add columns.
    then = executor.loader.project_state([after]).apps.get_model("ledger", "Payout")
    by_bank = then.objects.get(creator_id=bank.organization_id)
    by_stripe = then.objects.get(creator_id=stripe.organization_id)
    assert (by_bank.payee, by_bank.bank_account, by_bank.bank_code, by_bank.stripe_account) == (
        bank.organization.name,
        "DE89370400440532013000",
        "COBADEFFXXX",
        "",
    )
    assert (by_stripe.stripe_account, by_stripe.bank_account) == ("acct_x", "")
    MigrationExecutor(connection).migrate(
        [k for k in MigrationExecutor(connection).loader.graph.leaf_nodes() if k[0] == "ledger"]
    )
