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


class Push(models.Model):
    """A delivery version pushed into the buyer's own S3-compatible bucket.

    The lab's credentials are kept Fernet-encrypted only while the push can still run: they are
    deleted when it completes or is cancelled, and OUTTAKE_PUSH_KEEP_CREDENTIALS_HOURS after it
    last failed. Without credentials Outtake uses its own account (the lab's bucket policy).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="pushes")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    endpoint = models.CharField(max_length=300, blank=True)  # blank: AWS S3 itself
    region = models.CharField(max_length=32, default="us-east-1")
    bucket = models.CharField(max_length=63)
    prefix = models.CharField(max_length=512, blank=True)
    bucket_policy = models.BooleanField(default=False)  # Outtake's own account, no lab keys
    credentials = models.TextField(blank=True)  # encrypted; blank once deleted
    credentials_deleted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    objects_total = models.PositiveIntegerField(default=0)
    objects_done = models.PositiveIntegerField(default=0)
    objects_skipped = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    bytes_sent = models.BigIntegerField(default=0)  # over every attempt: resumes send less
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def destination(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class PushObject(models.Model):
    """One file of a push: its multipart upload and the parts already stored, so a push that
    was cut off resumes where it stopped."""

    class Status(models.TextChoices):
        PENDING = "pending"
        UPLOADED = "uploaded"
        SKIPPED = "skipped"  # already in the bucket with the same size and SHA-256

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=300)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    upload_id = models.TextField(blank=True)
    parts = models.JSONField(default=list, blank=True)  # [{"n", "etag", "size"}]
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["push", "path"], name="push_object_path")]
