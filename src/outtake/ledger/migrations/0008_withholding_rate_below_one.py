"""A creator's withholding rate is a fraction below 1. A stored rate outside [0, 1) could only
stop a payout run, so it is cleared (the default rate applies) before the check is added."""

from django.db import migrations, models

import outtake.ledger.models


def clear_impossible_rates(apps, schema_editor) -> None:
    TaxProfile = apps.get_model("ledger", "TaxProfile")
    bad = models.Q(withholding_rate__lt=0) | models.Q(withholding_rate__gte=1)
    TaxProfile.objects.filter(bad).update(withholding_rate=None)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0007_bank_account_encrypted"),
    ]

    operations = [
        migrations.RunPython(clear_impossible_rates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="taxprofile",
            name="withholding_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                help_text="A fraction: 0.30 withholds 30 %. Empty: the default rate.",
                max_digits=5,
                null=True,
                validators=[outtake.ledger.models.validate_withholding_rate],
            ),
        ),
        migrations.AddConstraint(
            model_name="taxprofile",
            constraint=models.CheckConstraint(
                condition=models.Q(("withholding_rate__isnull", True))
                | models.Q(("withholding_rate__gte", 0), ("withholding_rate__lt", 1)),
                name="withholding_rate_below_one",
            ),
        ),
    ]
