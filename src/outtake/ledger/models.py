from django.conf import settings
from django.db import models


class Account(models.Model):
    """One account of the chart. Outtake is the creators' agent: what creators are owed is a
    liability, only the fee is Outtake's revenue."""

    class Type(models.TextChoices):
        ASSET = "asset"
        LIABILITY = "liability"
        REVENUE = "revenue"
        EXPENSE = "expense"

    code = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=Type.choices)
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT
    )
    currency = models.CharField(max_length=3, default="USD")

    def __str__(self) -> str:
        return self.code


class JournalEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, db_index=True)
    memo = models.CharField(max_length=300)
    license = models.ForeignKey(
        "market.License", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # An outside event (statement line, webhook) posts once, however often it arrives.
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.id} {self.kind}: {self.memo}"


class Posting(models.Model):
    """Debits are positive, credits negative; the postings of an entry sum to zero."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("postings are never changed; post a reversing entry")
        super().save(*args, **kwargs)


class Invoice(models.Model):
    """Issued by Outtake on behalf of the creators for one license."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"

    number = models.PositiveIntegerField(unique=True)
    license = models.OneToOneField(
        "market.License", on_delete=models.PROTECT, related_name="invoice"
    )
    buyer = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    issued_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    @property
    def label(self) -> str:
        return f"OUT-{self.number:06d}"

    def __str__(self) -> str:
        return self.label


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=32, choices=Method.choices, default=Method.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    received_at = models.DateTimeField(auto_now_add=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT)
