from django.db import migrations, models


def from_audit_events(apps, schema_editor):
    """Copies made before the hash was kept: their hash was recorded when each was stored."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    LicenseContract = apps.get_model("rights", "LicenseContract")
    sealed = AuditEvent.objects.filter(
        kind="license.creators_copy_sealed", subject_type="market.license"
    )
    for subject_id, data in sealed.values_list("subject_id", "data").iterator():
        LicenseContract.objects.filter(license_id=subject_id, copy_sha256="").update(
            copy_sha256=data["copy_sha256"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_events_protect_their_actors"),
        ("rights", "0004_removal_requests_and_request_addresses"),
    ]

    operations = [
        migrations.AddField(
            model_name="licensecontract",
            name="copy_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(from_audit_events, migrations.RunPython.noop),
    ]
