"""`outtake payouts run` and the reviewer's button run the same payout service."""

import pytest
from django.test import override_settings
from typer.testing import CliRunner

from outtake.cli import app
from outtake.ledger.models import Payout
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def test_cli_prints_the_run_and_pays_once(people):
    rich, poor = people.creators
    pay(sell(people.buyer, [(rich, 2000), (poor, 100)]), people.reviewer)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["payouts", "run", "--run", "2026-11"])
    assert result.exit_code == 0, result.output
    assert rich.organization.pseudonym in result.output
    assert "17.00 USD" in result.output and "1 below the minimum" in result.output
    again = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["payouts", "run", "--run", "2026-11"])
    assert again.exit_code == 0 and "sent nothing" in again.output
    assert Payout.objects.count() == 1


def test_cli_refuses_an_unknown_provider(people):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["payouts", "run", "--provider", "pigeon"]
    )
    assert result.exit_code != 0


def test_reviewer_button_runs_payouts(client, people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 5000)]), people.reviewer)
    client.force_login(people.reviewer)
    listing = client.get("/admin/ledger/payout/")
    assert b"/admin/ledger/payout/run/" in listing.content
    confirm = client.get("/admin/ledger/payout/run/")
    assert b"Run payouts now" in confirm.content and not Payout.objects.exists()
    done = client.post("/admin/ledger/payout/run/")
    [payout] = Payout.objects.all()
    assert payout.status == Payout.Status.SENT and payout.gross_minor == 4250
    assert b"1 sent" in done.content and creator.organization.pseudonym.encode() in done.content


@override_settings(OUTTAKE_PAYOUT_MINIMUMS={"USD": 1000, "EUR": 2000, "JPY": 1500})
def test_the_button_states_every_minimum_by_currency(client, people):
    client.force_login(people.reviewer)
    confirm = client.get("/admin/ledger/payout/run/").content.decode()
    assert "(20.00 EUR, 1,500 JPY, 10.00 USD)" in confirm


def test_creators_cannot_press_the_button(client, people):
    client.force_login(people.creators[0])
    assert client.post("/admin/ledger/payout/run/").status_code == 302  # to the admin login
    assert not Payout.objects.exists()
