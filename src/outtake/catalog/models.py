import uuid

from django.conf import settings
from django.db import models


class Asset(models.Model):
    """An uploaded original."""

    class Status(models.TextChoices):
        PROCESSING = "processing"
        READY = "ready"
        REJECTED = "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="assets"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    # Private to the creator: never shown to buyers nor put in packages.
    original_filename = models.CharField(max_length=255)
    # The tus upload it came from: completing the same upload twice makes one asset.
    upload_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    declared_sha256 = models.CharField(max_length=64, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    blob_key = models.CharField(max_length=300)
    kind = models.CharField(max_length=8, blank=True)  # video | image
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    status_reason = models.TextField(blank=True)
    probe = models.JSONField(default=dict, blank=True)
    # Facts about where the file comes from (media.authenticity): camera signs, C2PA, AI flag.
    authenticity = models.JSONField(default=dict, blank=True)
    thumbnail_key = models.CharField(max_length=300, blank=True)
    # A watermarked contact sheet of the asset's shots, without the original's metadata.
    sheet_key = models.CharField(max_length=300, blank=True)
    creator_tags = models.JSONField(default=list, blank=True)
    # What the camera's sidecar files said (media.analysis.vendor.SIDECAR_FACTS), sent with the
    # upload: the sidecars themselves are never uploaded.
    sidecar_facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"

    @property
    def duration_s(self) -> float | None:
        return self.probe.get("duration_s")


class Clip(models.Model):
    """The unit that is sold: a shot of a video asset, or a whole photo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="clips")
    index = models.PositiveIntegerField(default=0)
    start_s = models.FloatField(default=0)
    end_s = models.FloatField(null=True, blank=True)
    kind = models.CharField(max_length=8)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(null=True, blank=True)
    start_frame = models.PositiveIntegerField(null=True, blank=True)
    end_frame = models.PositiveIntegerField(null=True, blank=True)  # exclusive
    tags = models.JSONField(default=list, blank=True)
    problems = models.JSONField(default=list, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    # PDQ hashes of sampled frames: [{"t": seconds, "hash": hex, "quality": 0-100}].
    pdq = models.JSONField(default=list, blank=True)
    # Faces and persons: {"identifiable": n, "incidental": n, "faces": [...], "persons": [...]}.
    people = models.JSONField(default=dict, blank=True)
    # Identifiable people are shown: the rights issue will require their releases before sale.
    needs_release = models.BooleanField(default=False)
    preview_key = models.CharField(max_length=300, blank=True)  # watermarked animated WebP
    sellable = models.BooleanField(default=False)
    unsellable_reason = models.TextField(blank=True)
    tier = models.CharField(max_length=32, blank=True)
    price_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    price_lines = models.JSONField(default=list, blank=True)
    # One component per analysis step, so it grows with the pipeline: no length limit.
    pipeline_version = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset", "index"]
        constraints = [models.UniqueConstraint(fields=["asset", "index"], name="clip_unique_index")]

    def __str__(self) -> str:
        return f"clip {self.index} of {self.asset_id}"

    @property
    def duration_s(self) -> float | None:
        if self.end_s is None:
            return None
        return max(0.0, self.end_s - self.start_s)
