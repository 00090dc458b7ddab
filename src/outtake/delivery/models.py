import uuid

from django.conf import settings
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
    # Sample (clip) ids a later version tells the buyer to delete, and the buyer's receipt.
    removed_clip_ids = models.JSONField(default=list, blank=True)
    removals_acknowledged_at = models.DateTimeField(null=True, blank=True)
    removals_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["license", "version"], name="delivery_version")
        ]

    @property
    def filename(self) -> str:
        """The single file of a package built before shards (format outtake-package/1)."""
        return f"outtake-license-{self.license_id}-v{self.version}.tar"

    @property
    def files(self) -> dict[str, dict]:
        """The package's files by path: {"size", "sha256"}."""
        return {f["path"]: f for f in self.manifest.get("files", [])}
