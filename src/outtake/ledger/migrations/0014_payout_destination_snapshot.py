"""A payout keeps the destination it is paid to, copied when it is reserved, so a retry pays
there and not wherever the creator's details point by then. Payouts still pending get the
creator's current details: the best knowledge there is of where they were sent."""

from django.db import migrations, models

import outtake.config.encryption


def snapshot_pending(apps, schema_editor) -> None:
    Payout = apps.get_model("ledger", "Payout")
    PayoutDestination = apps.get_model("ledger", "PayoutDestination")
    for payout in Payout.objects.filter(status="pending").select_related("creator"):
        destination = PayoutDestination.objects.filter(organization=payout.creator).first()
        if destination is None:
            continue
        if payout.provider == "stripe":
            payout.stripe_account = destination.stripe_account
        elif payout.provider == "csv":
            payout.payee = destination.holder_name or payout.creator.name
            payout.bank_account = destination.bank_account
            payout.bank_code = destination.bank_code
        payout.save(update_fields=["payee", "bank_account", "bank_code", "stripe_account"])


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0013_card_checkout_amount"),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="payee",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="payout",
            name="bank_account",
            field=outtake.config.encryption.EncryptedTextField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="payout",
            name="bank_code",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="payout",
            name="stripe_account",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(snapshot_pending, migrations.RunPython.noop),
    ]
