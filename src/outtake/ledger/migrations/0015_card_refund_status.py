"""A refund's card part keeps the card provider's status and the idempotency key it is sent
under. Card parts refunded before were booked as done when Stripe answered: they are marked
succeeded (a later failure still reaches them by their re_… id through the webhook)."""

from django.db import migrations, models


def mark_earlier_card_parts(apps, schema_editor) -> None:
    Refund = apps.get_model("ledger", "Refund")
    Refund.objects.filter(card_minor__gt=0).update(card_status="succeeded")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0014_payout_destination_snapshot"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="card_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="refund",
            name="card_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "no card part"),
                    ("sending", "Sending"),
                    ("pending", "Pending"),
                    ("requires_action", "Requires Action"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("canceled", "Canceled"),
                    ("refused", "Refused"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(mark_earlier_card_parts, migrations.RunPython.noop),
    ]
