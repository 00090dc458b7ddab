from django.conf import settings
from django.db import models


class TermsVersion(models.Model):
    """One immutable version of what a creator grants: their default, or one asset's override.

    Every change is a new row; licenses keep the resolved snapshot they were sold under.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="terms_versions"
    )
    asset = models.ForeignKey(
        "catalog.Asset",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="terms_versions",
    )
    version = models.PositiveIntegerField()
    terms = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "asset", "version"], name="terms_unique_version"
            ),
            models.UniqueConstraint(
                fields=["organization", "version"],
                condition=models.Q(asset__isnull=True),
                name="terms_unique_default_version",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("terms versions are never changed; create a new version")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        scope = f"asset {self.asset_id}" if self.asset_id else "default"
        return f"terms v{self.version} ({scope}) of {self.organization}"
