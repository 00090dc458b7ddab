"""A payout records when a run claimed it to send, so reviewers' "paid" or "not paid" at the
provider waits until the provider's answer is in."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0016_refund_card_unanswered_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="sending_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
