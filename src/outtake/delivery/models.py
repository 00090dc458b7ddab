import uuid

from django.db import models


class Delivery(models.Model):
    """One built package of a paid license (a later version follows revocations)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    license = models.ForeignKey(
        "market.License", on_delete=models.PROTECT, related_name="deliveries"
    )
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    blob_key = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["license", "version"], name="delivery_version")
        ]

    @property
    def filename(self) -> str:
        return f"outtake-license-{self.license_id}-v{self.version}.tar"
