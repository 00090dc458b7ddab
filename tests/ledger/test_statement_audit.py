"""Every statement (page, PDF, CSV) prints the audit chain head and its last signed
checkpoint, so a statement already handed out exposes a later rewrite of the books."""

import csv
import io

import pytest
from pypdf import PdfReader

from outtake.audit.services import create_checkpoint, latest_head
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def test_head_and_checkpoint_on_page_pdf_and_csv(client, people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    checkpoint = create_checkpoint()
    sell(people.buyer, [(creator, 500)])  # the chain moves on past the checkpoint
    head = latest_head()
    assert head["head"] != checkpoint.head and head["count"] > checkpoint.count
    client.force_login(creator)

    page = client.get("/earnings/statement/").content.decode()
    assert head["head"] in page and checkpoint.head in page and checkpoint.signature in page

    pdf = client.get("/earnings/statement/?format=pdf").content
    text = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert head["head"] in text and checkpoint.head in text
    assert f"after{head['count']}events" in text

    rows = list(csv.reader(io.StringIO(client.get("/earnings/statement/?format=csv").text)))
    assert rows[-1] == [
        "# audit chain",
        head["head"],
        str(head["count"]),
        "checkpoint",
        checkpoint.at.isoformat(),
        str(checkpoint.count),
        checkpoint.head,
        checkpoint.signature,
    ]


def test_before_any_checkpoint_the_statement_says_so(client, people):
    creator = people.creators[0]
    sell(people.buyer, [(creator, 2000)])
    client.force_login(creator)
    page = client.get("/earnings/statement/").content.decode()
    assert "No signed checkpoint yet" in page and latest_head()["head"] in page
    rows = list(csv.reader(io.StringIO(client.get("/earnings/statement/?format=csv").text)))
    assert rows[-1][:4] == ["# audit chain", latest_head()["head"], rows[-1][2], "checkpoint"]
    assert rows[-1][4:] == ["", "", "", ""]
