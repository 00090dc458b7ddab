"""Deduplication: the frame hashes behind the index, holds on duplicate uploads, hash lists."""

import uuid

from django.conf import settings
from django.db import models


class FrameHash(models.Model):
    """A sampled frame of a clip: its dedup hash variants, from which the index is rebuilt."""

    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="frame_hashes")
    t = models.FloatField()
    quality = models.PositiveSmallIntegerField(default=0)
    # 4 × 32 bytes: full, mirror, central 90 %, central 80 % (media.dedup.hashes.VARIANTS).
    hashes = models.BinaryField(max_length=128)

    class Meta:
        ordering = ["clip", "t"]


class DuplicateHold(models.Model):
    """A new clip kept out of the catalogue because it matches one already there."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DUPLICATE = "duplicate"
        DIFFERENT = "different"
        BETTER_COPY = "better_copy"  # the same creator's better copy replaces the older clip

    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="holds")
    matched_clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8)  # exact | near
    # {"coverage": share, "pairs": [[t new, t existing, bits], ...]}
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class HashList(models.Model):
    """Hashes an organization uploaded: a lab's own corpus, or what a creator has published.

    The hashes themselves live in OUTTAKE_HOME/dedup/lists/<id>/ (they can be millions)."""

    class Purpose(models.TextChoices):
        CORPUS = "corpus"
        PUBLISHED = "published"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    name = models.CharField(max_length=200)
    sha256_count = models.PositiveIntegerField(default=0)
    pdq_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class ListMatch(models.Model):
    """A clip found in a hash list: excluded from that lab's quotes, or marked published."""

    hash_list = models.ForeignKey(HashList, on_delete=models.CASCADE, related_name="matches")
    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8)  # exact | near
    evidence = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hash_list", "clip"], name="listmatch_unique")
        ]


class QuoteExclusion(models.Model):
    """Clips a lab matched locally (`outtake exclude`): left out of its request's quotes."""

    request = models.ForeignKey("market.DatasetRequest", on_delete=models.CASCADE)
    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "clip"], name="quoteexclusion_unique")
        ]


class RequestPreference(models.Model):
    """Dedup options of a dataset request, kept here so market's schema stays its own."""

    request = models.OneToOneField(
        "market.DatasetRequest", on_delete=models.CASCADE, related_name="dedup_preference"
    )
    unpublished_only = models.BooleanField(default=False)
