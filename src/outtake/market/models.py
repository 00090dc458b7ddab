import uuid

from django.conf import settings
from django.db import models

from outtake.provenance.transcode import STREAM_COPY


class DatasetRequest(models.Model):
    """What a buyer wants: the filters and limits a quote is built from."""

    class MediaType(models.TextChoices):
        VIDEO = "video"
        IMAGE = "image"
        ANY = "any"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="dataset_requests"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    title = models.CharField(max_length=200)
    media_type = models.CharField(max_length=8, choices=MediaType.choices, default=MediaType.VIDEO)
    min_tier = models.CharField(max_length=16, default="sd")
    min_fps = models.FloatField(default=0)
    tags_required = models.JSONField(default=list, blank=True)
    tags_excluded = models.JSONField(default=list, blank=True)
    min_clip_seconds = models.FloatField(default=0)
    minutes_wanted = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    photos_wanted = models.PositiveIntegerField(default=0)
    budget_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    uses_needed = models.JSONField(default=list)
    exclusive = models.BooleanField(default=False)
    # Only clips where every person shown, incidental ones too, has a model release.
    releases_for_everyone = models.BooleanField(default=False)
    max_creator_share = models.DecimalField(max_digits=4, decimal_places=3, default=1)
    # Where and how long the buyer will use the data: empty is worldwide, None is perpetual.
    territory = models.JSONField(default=list, blank=True)
    term_years = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class Quote(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        EXPIRED = "expired"
        WITHDRAWN = "withdrawn"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(DatasetRequest, on_delete=models.PROTECT, related_name="quotes")
    buyer = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    rule = models.TextField()
    total_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    seconds = models.FloatField(default=0)
    clip_count = models.PositiveIntegerField(default=0)
    excluded = models.JSONField(default=dict, blank=True)
    # Ids (core.terms.clause_id) of the creators' conditions the buyer accepted, one by one,
    # on this quote; clips under any other condition were left out of it.
    accepted_clauses = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]


class QuoteItem(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="items")
    clip = models.ForeignKey("catalog.Clip", on_delete=models.PROTECT)
    creator = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    price_minor = models.BigIntegerField()
    price_lines = models.JSONField()
    terms_snapshot = models.JSONField()

    class Meta:
        ordering = ["id"]


class License(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment"
        PAID = "paid"
        DELIVERED = "delivered"
        REFUNDED = "refunded"  # ended by a refund: the buyer must delete the data
        CANCELLED = "cancelled"  # its invoice was voided before it was paid

    ENDED = (Status.REFUNDED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, related_name="license")
    buyer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="licenses"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT
    )
    exclusive = models.BooleanField(default=False)
    uses = models.JSONField(default=list)
    # The uses whose conditions the buyer accepted (what the contract checks), and each
    # condition accepted: {"id", "use", "text"}.
    accepted_constraints = models.JSONField(default=list, blank=True)
    accepted_clauses = models.JSONField(default=list, blank=True)
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # How the buyer wants video delivered: stream copy, or a profile of provenance.transcode
    # (checked by delivery.services; no choices here, so a new profile needs no migration).
    transcode_profile = models.CharField(max_length=32, default=STREAM_COPY)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"License {self.id}"

    @property
    def in_force(self) -> bool:
        """Paid and not ended: only then are its packages built, downloaded and pushed."""
        return self.paid_at is not None and self.status not in self.ENDED


class LicenseItem(models.Model):
    """One licensed clip with the price and the resolved terms it was sold under."""

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="items")
    clip = models.ForeignKey("catalog.Clip", on_delete=models.PROTECT, related_name="licensed")
    creator = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    price_minor = models.BigIntegerField()
    price_lines = models.JSONField()
    terms_snapshot = models.JSONField()

    class Meta:
        ordering = ["id"]
