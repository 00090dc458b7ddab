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


class LicenseContract(models.Model):
    """The dataset license as accepted, sealed and stored: one per License.

    `document` is the LicenseDocument's data, so the PDF and the ODRL policy are re-derived from
    the very data the buyer accepted, not from rows that may change later (release status,
    attestations).
    """

    license = models.OneToOneField(
        "market.License", on_delete=models.PROTECT, related_name="contract"
    )
    template_version = models.CharField(max_length=16)
    document = models.JSONField()
    # Recorded at acceptance: the SHA-256 of the document's canonical data. The PDF is rendered
    # from exactly that data (deterministically) and sealed in the background.
    data_sha256 = models.CharField(max_length=64)
    document_sha256 = models.CharField(max_length=64, blank=True)  # the PDF, before sealing
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    accepted_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    accepted_via = models.CharField(max_length=16)  # "web" | "api" | "service"
    accepted_at = models.DateTimeField()
    sealed_key = models.CharField(max_length=300, blank=True)
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    # The creators' copy (made when a buyer withholds its name), once stored: what creators
    # are given instead of hashes that name the buyer.
    copy_sha256 = models.CharField(max_length=64, blank=True)
    cosigned_key = models.CharField(max_length=300, blank=True)
    cosigned_sha256 = models.CharField(max_length=64, blank=True)
    cosigned_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"contract of license {self.license_id}"


class BuyerCertificate(models.Model):
    """A certificate a buyer signs contracts with: their own, or one Outtake's CA issued from
    their CSR under the separate "buyer" purpose. Its chain is trusted for that buyer only."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="certificates"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    certificate_pem = models.TextField()
    chain_pem = models.TextField(blank=True)  # the issuers up to a root, trusted as anchors
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the DER
    subject = models.CharField(max_length=300)
    issued_by_outtake = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.subject} ({self.fingerprint[:12]}…)"


class DealApproval(models.Model):
    """A creator in allow-list mode approves (or refuses) one deal: a buyer's accepted quote."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REFUSED = "refused"

    quote = models.ForeignKey("market.Quote", on_delete=models.CASCADE, related_name="approvals")
    creator = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_via = models.CharField(max_length=16, default="service")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "creator"], name="approval_once_per_creator")
        ]


class RightsClaim(models.Model):
    """A third party's claim on an asset (with or without an account): its clips leave the
    catalogue until a reviewer resolves the claim."""

    class Status(models.TextChoices):
        OPEN = "open"
        UPHELD = "upheld"  # the asset stays out of sales; the creator is told why
        DISMISSED = "dismissed"  # sales resume

    asset = models.ForeignKey("catalog.Asset", on_delete=models.PROTECT, related_name="claims")
    claimant_name = models.CharField(max_length=200)
    claimant_email = models.EmailField()
    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    grounds = models.TextField()
    ip = models.GenericIPAddressField(null=True, blank=True)  # for the rate limit
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"claim on {self.asset_id} by {self.claimant_email} ({self.status})"


class RemovalRequest(models.Model):
    """A person shown asks to be removed (data protection; no account needed): the clips
    concerned are held out of sale until a reviewer decides. Upheld, the removal reaches the
    licensees as a revocation; rejected, sales resume and the requester is told why."""

    class Status(models.TextChoices):
        OPEN = "open"  # the clips concerned are not offered while a reviewer checks
        UPHELD = "upheld"  # they stay out of sales; licensees were told
        REJECTED = "rejected"  # sales resume; the requester was told why

    asset = models.ForeignKey(
        "catalog.Asset", on_delete=models.PROTECT, related_name="removal_requests"
    )
    clip = models.ForeignKey(
        "catalog.Clip", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: every clip of the asset
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    reason = models.TextField()  # where they appear, and why they ask
    ip = models.GenericIPAddressField(null=True, blank=True)  # for the rate limit
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)  # told to the requester and the creator
    revocation = models.OneToOneField(
        "Revocation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"removal from {self.clip_id or self.asset_id} asked by {self.email} ({self.status})"


class Revocation(models.Model):
    """An asset (or one clip) leaving future sales: the creator's withdrawal, a shown person's
    removal request, or an upheld rights claim. Licenses already sold follow their clause."""

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal"
        REMOVAL_REQUEST = "removal_request"
        CLAIM_UPHELD = "claim_upheld"
        RELEASE_REVOKED = "release_revoked"

    asset = models.ForeignKey("catalog.Asset", on_delete=models.PROTECT, related_name="revocations")
    clip = models.ForeignKey(
        "catalog.Clip", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester_email = models.EmailField(blank=True)  # a person without an account
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class RevocationNotice(models.Model):
    """What one affected license's buyer was told, and when they acknowledged it."""

    revocation = models.ForeignKey(Revocation, on_delete=models.PROTECT, related_name="notices")
    license = models.ForeignKey("market.License", on_delete=models.PROTECT, related_name="+")
    clip_ids = models.JSONField(default=list)
    training_stop_notice_days = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["revocation", "license"], name="notice_once")
        ]


class Release(models.Model):
    """A release covering AI training: a model release of one person shown in an asset (or one
    of its clips), or a property release by the owner of a private place or an artwork shown.
    Uploaded by the creator, or signed (and revocable) by the person or owner through a link."""

    class Kind(models.TextChoices):
        MODEL = "model"
        PROPERTY = "property"

    class Method(models.TextChoices):
        UPLOADED = "uploaded"
        SIGNED = "signed"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MODEL)

    asset = models.ForeignKey("catalog.Asset", on_delete=models.PROTECT, related_name="releases")
    clip = models.ForeignKey(
        "catalog.Clip", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: every clip of the asset
    # How the creator describes who is shown, or the property and its owner.
    person = models.CharField(max_length=200)
    method = models.CharField(max_length=16, choices=Method.choices)
    minor = models.BooleanField(default=False)
    guardian_name = models.CharField(max_length=200, blank=True)
    token = models.CharField(max_length=64, unique=True)  # the signing (and revoking) link
    document_key = models.CharField(max_length=300, blank=True)  # upload, or drawn signature
    signed_name = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField(null=True, blank=True)  # the date the person wrote
    signed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A release signed by link, rendered to PDF and sealed with Outtake's platform seal (once).
    sealed_key = models.CharField(max_length=300, blank=True)
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    @property
    def active(self) -> bool:
        return self.signed_at is not None and self.revoked_at is None
