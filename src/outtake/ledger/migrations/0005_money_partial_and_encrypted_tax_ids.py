"""Payments from a buyer's credit; tax ids encrypted at rest.

The tax id columns become text first (a token is longer than the id), existing ids are
encrypted in place, then the columns are declared encrypted (no schema change)."""

from django.db import migrations, models

import outtake.config.encryption

SENSITIVE = ("tax_id", "foreign_tax_id")


def _convert(apps, transform) -> None:
    TaxProfile = apps.get_model("ledger", "TaxProfile")
    for profile in TaxProfile.objects.all():
        for name in SENSITIVE:
            setattr(profile, name, transform(getattr(profile, name)))
        profile.save(update_fields=list(SENSITIVE))


def encrypt_existing(apps, schema_editor) -> None:
    _convert(apps, outtake.config.encryption.encrypt)


def decrypt_existing(apps, schema_editor) -> None:
    _convert(apps, outtake.config.encryption.decrypt)


def _plain(name: str, max_length: int, help_text: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="taxprofile",
        name=name,
        field=models.TextField(blank=True, help_text=help_text, max_length=max_length),
    )


def _encrypted(name: str, max_length: int, help_text: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="taxprofile",
        name=name,
        field=outtake.config.encryption.EncryptedTextField(
            blank=True, help_text=help_text, max_length=max_length
        ),
    )


FIELDS = (("tax_id", 32, "US SSN, ITIN or EIN"), ("foreign_tax_id", 64, "W-8BEN line 6a"))


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_collection"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="method",
            field=models.CharField(
                choices=[
                    ("bank_transfer", "Bank Transfer"),
                    ("card", "Card"),
                    ("credit", "Buyer credit"),
                ],
                default="bank_transfer",
                max_length=32,
            ),
        ),
        *(_plain(*f) for f in FIELDS),
        migrations.RunPython(encrypt_existing, decrypt_existing),
        *(_encrypted(*f) for f in FIELDS),
    ]
