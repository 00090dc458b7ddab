"""Tax ids are encrypted at rest: the database holds tokens, pages show the last four."""

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from outtake.ledger.models import TaxProfile
from outtake.ledger.tax import save_tax_profile, yearly_export_csv

W9 = {
    "country": "US",
    "form": "w9",
    "legal_name": "Pat Doe",
    "tax_id": "123-45-6789",
    "tax_classification": "individual",
    "certified_name": "Pat Doe",
}
W8 = {
    "country": "DE",
    "form": "w8ben",
    "legal_name": "Erika Mustermann",
    "foreign_tax_id": "86095742719",
    "citizenship": "DE",
    "date_of_birth": date(1980, 5, 1),
    "certified_name": "Erika Mustermann",
}


def raw_ids(pk: int) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT tax_id, foreign_tax_id FROM ledger_taxprofile WHERE id = %s", [pk])
        return cur.fetchone()


@pytest.mark.django_db
def test_the_column_holds_a_token_and_the_model_the_id(people):
    us, de = people.creators
    w9, w8 = save_tax_profile(us, W9), save_tax_profile(de, W8)
    tax_id, foreign = raw_ids(w9.pk)
    assert "6789" not in tax_id and tax_id.startswith("gAAAA") and foreign == ""
    assert "86095742719" not in raw_ids(w8.pk)[1]
    assert TaxProfile.objects.get(pk=w9.pk).tax_id == "123-45-6789"
    assert TaxProfile.objects.get(pk=w8.pk).foreign_tax_id == "86095742719"
    # Encrypting the same id twice gives different tokens: equal ids do not show.
    save_tax_profile(us, W9)
    assert raw_ids(w9.pk)[0] != tax_id


@pytest.mark.django_db
def test_the_accountants_export_has_the_ids_the_pages_do_not(client, people):
    creator = people.creators[0]
    save_tax_profile(creator, W9)
    export = yearly_export_csv(creator.organization, timezone.now().year)
    assert "# tax ids,Pat Doe,123-45-6789," in export
    client.force_login(creator)
    page = client.get("/earnings/tax/").content.decode()
    assert "123-45-6789" not in page and "••••6789" in page


@pytest.mark.django_db
def test_a_dedicated_key_with_rotation(people):
    with override_settings(OUTTAKE_FIELD_KEY="first key"):
        profile = save_tax_profile(people.creators[0], W9)
        assert TaxProfile.objects.get(pk=profile.pk).tax_id == "123-45-6789"
    with pytest.raises(ImproperlyConfigured, match="OUTTAKE_FIELD_KEY"):
        TaxProfile.objects.get(pk=profile.pk)  # the SECRET_KEY-derived key cannot read it
    with override_settings(OUTTAKE_FIELD_KEY="second key, first key"):
        assert TaxProfile.objects.get(pk=profile.pk).tax_id == "123-45-6789"


@pytest.mark.django_db
def test_ids_longer_than_the_form_allows_are_refused(people):
    with pytest.raises(ValueError, match="at most 64"):
        save_tax_profile(people.creators[0], {**W8, "foreign_tax_id": "9" * 65})


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_ids_already_on_file(people):
    before, after = (
        ("ledger", "0004_collection"),
        ("ledger", "0005_money_partial_and_encrypted_tax_ids"),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("ledger", "TaxProfile")
    row = old.objects.create(
        organization_id=people.creators[0].organization.pk,
        country="US",
        form="w9",
        legal_name="Pat Doe",
        tax_id="123456789",
        foreign_tax_id="",
    )
    assert raw_ids(row.pk) == ("123456789", "")
    executor = MigrationExecutor(connection)
    executor.migrate([after])
    assert "6789" not in raw_ids(row.pk)[0]
    # Read as the model stood after the migration: later ones add columns.
    then = executor.loader.project_state([after]).apps.get_model("ledger", "TaxProfile")
    assert then.objects.get(pk=row.pk).tax_id == "123456789"
    executor = MigrationExecutor(connection)
    executor.migrate([before])  # and back: the ids are decrypted again
    assert raw_ids(row.pk) == ("123456789", "")
    MigrationExecutor(connection).migrate(
        [
            key
            for key in MigrationExecutor(connection).loader.graph.leaf_nodes()
            if key[0] == "ledger"
        ]
    )


@pytest.mark.django_db
def test_bank_account_numbers_are_encrypted_too(people, client, make_user):
    from outtake.ledger.models import PayoutDestination

    dest = PayoutDestination.objects.exclude(bank_account="").first()
    with connection.cursor() as cur:
        cur.execute("SELECT bank_account FROM ledger_payoutdestination WHERE id = %s", [dest.pk])
        (raw,) = cur.fetchone()
    assert raw.startswith("gAAAA") and "3000" not in raw
    assert PayoutDestination.objects.get(pk=dest.pk).bank_account == dest.bank_account
    client.force_login(make_user("reviewer"))
    page = client.get("/admin/ledger/payoutdestination/").content.decode()
    assert "••••" + dest.bank_account[-4:] in page and dest.bank_account not in page
