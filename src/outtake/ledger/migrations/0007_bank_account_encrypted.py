"""Creators' bank account numbers encrypted at rest, as tax ids are (0005): the column becomes
text, existing numbers are encrypted in place, then it is declared encrypted."""

from django.db import migrations, models

import outtake.config.encryption


def _convert(apps, transform) -> None:
    PayoutDestination = apps.get_model("ledger", "PayoutDestination")
    for destination in PayoutDestination.objects.exclude(bank_account=""):
        destination.bank_account = transform(destination.bank_account)
        destination.save(update_fields=["bank_account"])


def encrypt_existing(apps, schema_editor) -> None:
    _convert(apps, outtake.config.encryption.encrypt)


def decrypt_existing(apps, schema_editor) -> None:
    _convert(apps, outtake.config.encryption.decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_bank_line_credited"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payoutdestination",
            name="bank_account",
            field=models.TextField(blank=True, help_text="IBAN or number", max_length=64),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
        migrations.AlterField(
            model_name="payoutdestination",
            name="bank_account",
            field=outtake.config.encryption.EncryptedTextField(
                blank=True, help_text="IBAN or number", max_length=64
            ),
        ),
    ]
