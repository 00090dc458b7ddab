import secrets
import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class Organization(models.Model):
    """Every user belongs to one: a one-person creator, a lab, an agency, or the platform."""

    class Kind(models.TextChoices):
        CREATOR = "creator"
        BUYER = "buyer"
        AGENCY = "agency"
        PLATFORM = "platform"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What buyers see instead of a creator's name; creators are pseudonymous to buyers.
    pseudonym = models.CharField(max_length=32, unique=True, editable=False)
    # A buyer may ask to be shown to creators only as "an AI lab".
    show_as_ai_lab = models.BooleanField(default=False)
    # A buyer's kind (core.terms.BUYER_CATEGORIES), set at review; creators may refuse a kind.
    category = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def save(self, *args, **kwargs):
        if not self.pseudonym:
            prefix = "creator" if self.kind in (self.Kind.CREATOR, self.Kind.AGENCY) else "lab"
            self.pseudonym = f"{prefix}-{secrets.token_hex(4)}"
        super().save(*args, **kwargs)

    @property
    def name_for_creators(self) -> str:
        return "an AI lab" if self.show_as_ai_lab else self.name

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, username=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.REVIEWER)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    class Role(models.TextChoices):
        CREATOR = "creator"
        BUYER = "buyer"
        REVIEWER = "reviewer"

    class OrgRole(models.TextChoices):
        ADMIN = "admin"
        SIGNER = "signer"
        FINANCE = "finance"
        ENGINEER = "engineer"

    email = models.EmailField(unique=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    org_role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.ADMIN)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    @property
    def is_creator(self) -> bool:
        return self.role == self.Role.CREATOR

    @property
    def is_buyer(self) -> bool:
        return self.role == self.Role.BUYER

    @property
    def is_reviewer(self) -> bool:
        return self.role == self.Role.REVIEWER or self.is_superuser


class ApiToken(models.Model):
    """A bearer token with scopes; only its SHA-256 is stored. "finance" is a reviewer's scope
    for moving money (payments, refunds, payouts, bank statements): a read token cannot."""

    SCOPES = ("read", "upload", "buy", "download", "finance")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Tokens a person makes live until revoked; the browser's upload token expires by itself.
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginFailure(models.Model):
    """Failed logins, counted per e-mail and per address to rate-limit guessing."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class Attestation(models.Model):
    """A creator's ownership attestation: on accepting the creator agreement, or for one upload.

    Append-only like the audit chain it is also recorded in; a license's warranties cite it.
    """

    class Scope(models.TextChoices):
        AGREEMENT = "agreement"
        UPLOAD = "upload"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="attestations"
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    asset = models.ForeignKey(
        "catalog.Asset", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    statements = models.JSONField(default=list)  # codes of core.terms.OWNERSHIP_ATTESTATIONS
    agreement_version = models.CharField(max_length=16, blank=True)
    # The creator agreement as accepted: its data (CreatorAgreement's, which the PDF is rendered
    # from) and the SHA-256 of that data's canonical JSON. The PDF is sealed after acceptance
    # and kept at document_key, named at acceptance; its hash is in account.agreement_sealed.
    document = models.JSONField(null=True, blank=True)
    data_sha256 = models.CharField(max_length=64, blank=True)
    # Only acceptances from before the data was kept: the PDF was sealed at acceptance.
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_key = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("attestations are never changed; attest again")
        super().save(*args, **kwargs)
