"""A refund's card part records when reviewers were told the card provider never answered, so
the hourly sweep of card parts still waiting tells them once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0015_card_refund_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="card_unanswered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
