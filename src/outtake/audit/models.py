from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    """An append-only record of a state change someone may ask about later.

    Each row carries the hash of the previous row and its own hash over (prev_hash, content),
    so a rewritten row breaks the chain; the rights issue adds signed checkpoints of the head.
    The actor and organisation ids are part of that content, so a user or organisation named
    by an event cannot be deleted (deactivate the account instead): nulling the reference
    would break the chain with no tampering.
    """

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT
    )
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are never deleted")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject_type}:{self.subject_id}"


class ChainHead(models.Model):
    """One row locked while appending, so concurrent writers extend the chain in turn."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)


class Checkpoint(models.Model):
    """A signed statement of the chain's head at one moment: a later rewrite of the database
    (a changed row, a recomputed tail) no longer matches it, nor copies handed out on documents."""

    at = models.DateTimeField()
    count = models.BigIntegerField()  # events in the chain at that moment
    head = models.CharField(max_length=64)
    statement = models.TextField()  # the canonical JSON that was signed
    signature = models.TextField()  # base64 ECDSA P-256 / SHA-256 over the statement
    certificate_fingerprint = models.CharField(max_length=64)

    class Meta:
        ordering = ["-count", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("checkpoints are never changed")
        super().save(*args, **kwargs)
