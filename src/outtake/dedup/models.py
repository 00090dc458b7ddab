"""Deduplication: the frame hashes behind the index, holds on duplicate uploads, hash lists."""

import uuid

from django.conf import settings
from django.db import models


class FrameHash(models.Model):
    """A sampled frame of a clip: its dedup hash variants, from which the index is rebuilt."""

    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="frame_hashes")
    t = models.FloatField()
    quality = models.PositiveSmallIntegerField(default=0)
    # 32 bytes per variant of media.dedup.hashes.VARIANTS (full, mirror, central 90, 80, 95
    # and 85 %, four quadrants, 32 cuts, central 97.5, 92.5, 87.5 and 82.5 %); rows stored
    # before the later ones existed hold the first four or ten.
    hashes = models.BinaryField(max_length=1728)

    class Meta:
        ordering = ["clip", "t"]


class IndexState(models.Model):
    """The catalogue index's generation: one row, locked and bumped by every change to the
    frames in the index, each logged as an IndexChange in the same transaction, so changes
    commit in generation order. Each machine's index on disk is a cache of the database at
    some generation, brought up to date from the log (or rebuilt) before it is searched."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    generation = models.PositiveBigIntegerField(default=0)
    # Tells this database (or a reset of it) from another one a cache may have been built from.
    epoch = models.UUIDField(default=uuid.uuid4)


class IndexChange(models.Model):
    """FrameHash rows put in (added) or taken out of (removed) the catalogue index."""

    generation = models.PositiveBigIntegerField(unique=True)
    added = models.JSONField(default=list)
    removed = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


class DuplicateHold(models.Model):
    """A new clip kept out of the catalogue because it matches one already there."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DUPLICATE = "duplicate"
        DIFFERENT = "different"
        BETTER_COPY = "better_copy"  # the same creator's better copy replaces the older clip

    clip = models.ForeignKey("catalog.Clip", on_delete=models.CASCADE, related_name="holds")
    # Protected: a reanalysis moves the holds on and against an asset's clips to its new clips
    # (services.carry_holds) before the old go; deleting a clip others are held against any
    # other way would release those copies and drop their reviewers' decisions.
    matched_clip = models.ForeignKey("catalog.Clip", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8)  # exact | near
    # {"coverage": share, "pairs": [[t new, t existing, bits], ...]}
    evidence = models.JSONField(default=dict)
    # Pictures of some of those pairs for the reviewer (services.render_hold_frames):
    # [{"new_t", "old_t", "bits", "new": blob key, "old": blob key}, ...]
    frames = models.JSONField(default=list, blank=True)
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

    The hashes themselves (they can be millions) are blobs in storage under dedup/lists/<id>/,
    which every worker reads; each keeps an index of them in OUTTAKE_HOME/dedup/lists/<id>/."""

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
