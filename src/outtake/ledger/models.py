from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from outtake.config.encryption import EncryptedTextField
from outtake.core.money import Money


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


class LedgerEditRefused(ValueError):
    pass


def _refuse_edit(*args, **kwargs):
    raise LedgerEditRefused("the ledger is append-only: correct it with a reversing entry")


class AppendOnlyQuerySet(models.QuerySet):
    """Journal entries and postings are written once: bulk edits and deletes are refused."""

    update = delete = bulk_update = update_or_create = _refuse_edit


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse_edit()
        super().save(*args, **kwargs)

    delete = _refuse_edit


class JournalEntry(AppendOnly):
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


class Posting(AppendOnly):
    """Debits are positive, credits negative; the postings of an entry sum to zero."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)


class InvoiceCounter(models.Model):
    """The next invoice number, in one row locked while an invoice is issued: numbers have no
    gaps, because a rolled-back issue rolls the counter back too."""

    name = models.CharField(max_length=32, primary_key=True)
    next_number = models.PositiveIntegerField(default=1)


class Invoice(models.Model):
    """Issued by Outtake on behalf of the creators for one license."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"  # in full; it may have been refunded in part since
        REFUNDED = "refunded"  # in full
        VOID = "void"  # cancelled before it was paid in full; part payments went back

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
    refunded_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    @property
    def label(self) -> str:
        return f"OUT-{self.number:06d}"

    @property
    def received_minor(self) -> int:
        """What the buyer has paid towards it so far (over-payments included)."""
        return int(self.payments.aggregate(s=models.Sum("amount_minor"))["s"] or 0)

    @property
    def due_minor(self) -> int:
        if self.status != self.Status.OPEN:
            return 0
        return max(0, self.amount_minor - self.received_minor)

    @property
    def refunded_minor(self) -> int:
        """What was given back to the buyer so far."""
        return int(self.refunds.aggregate(s=models.Sum("amount_minor"))["s"] or 0)

    def __str__(self) -> str:
        return self.label


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer"
        CARD = "card"
        CREDIT = "credit", "Buyer credit"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=32, choices=Method.choices, default=Method.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    # The provider's id of the payment (a Stripe PaymentIntent), to refund it through them.
    provider_reference = models.CharField(max_length=200, blank=True)
    # Empty when a payment provider confirmed it (a card webhook), not a reviewer.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    received_at = models.DateTimeField(auto_now_add=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT)


class Refund(models.Model):
    """Money given back to a buyer: all or part of a paid invoice (several refunds, never more
    than was paid), or the part payments of an invoice voided before it was paid in full.
    Its entry reverses the sale in proportion."""

    class CardStatus(models.TextChoices):
        NONE = "", "no card part"
        SENDING = "sending"  # posted; the card provider has not answered yet
        # From here on Stripe's own refund statuses; only "succeeded" has given the money back.
        PENDING = "pending"
        REQUIRES_ACTION = "requires_action"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"
        REFUSED = "refused"  # the provider refused the request: no refund was made

    # A card part in these gave nothing back: it was moved to the buyer's credit, to transfer.
    GAVE_NOTHING = (CardStatus.FAILED, CardStatus.CANCELED, CardStatus.REFUSED)

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    # What goes back through the card provider (its refund id and status, and the key every
    # request for it is sent under); the rest is a transfer the reviewer makes.
    card_minor = models.BigIntegerField(default=0)
    card_status = models.CharField(max_length=20, choices=CardStatus.choices, blank=True)
    card_key = models.CharField(max_length=100, blank=True)
    provider_reference = models.CharField(max_length=200, blank=True)
    # When reviewers were told the provider never answered about the card part (told once).
    card_unanswered_at = models.DateTimeField(null=True, blank=True)
    ended_license = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]


class BankLine(models.Model):
    """One imported bank statement line. The bank's transaction id is unique: the same line
    imported twice, even at the same moment, is stored and posted once."""

    class Status(models.TextChoices):
        MATCHED = "matched"
        UNMATCHED = "unmatched"
        CREDITED = "credited"  # quoted an invoice no longer open: held as the buyer's credit

    bank_transaction_id = models.CharField(max_length=200, unique=True)
    booked_on = models.DateField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=300, blank=True)
    counterparty = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_lines"
    )
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_line"
    )
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_on", "id"]


class PayoutDestination(models.Model):
    """Where a creator organization is paid: a bank account for the bank file, or a Stripe
    connected account."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payout_destination"
    )
    holder_name = models.CharField(max_length=200, blank=True)
    # Encrypted at rest like tax ids; max_length is the plain number's.
    bank_account = EncryptedTextField(max_length=64, blank=True, help_text="IBAN or number")
    bank_code = models.CharField(max_length=32, blank=True, help_text="BIC or routing number")
    stripe_account = models.CharField(max_length=64, blank=True, help_text="acct_…")


class BankFile(models.Model):
    """A CSV file of credit transfers written by a payout run, for finance to upload to the
    bank. Its row is locked while a payout's line is added, so two runs never overwrite each
    other's lines."""

    key = models.CharField(max_length=300, unique=True)
    run = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key


class Payout(models.Model):
    """One transfer of a creator's payable balance in one payout run."""

    class Status(models.TextChoices):
        PENDING = "pending"  # posted, not yet confirmed by the provider
        SENT = "sent"
        REVERSED = "reversed"  # the provider refused it; the entry was reversed

    run = models.CharField(max_length=40, db_index=True)
    creator = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payouts"
    )
    provider = models.CharField(max_length=32)
    gross_minor = models.BigIntegerField()
    withholding_minor = models.BigIntegerField(default=0)
    withholding_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    fee_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    provider_reference = models.CharField(max_length=200, blank=True)
    # Where it is paid, copied from the creator's PayoutDestination when it is reserved (what
    # its provider needs): every attempt pays there, whatever the creator changes meanwhile.
    payee = models.CharField(max_length=200, blank=True)
    # Encrypted at rest like the destination's; max_length is the plain number's.
    bank_account = EncryptedTextField(max_length=64, blank=True)
    bank_code = models.CharField(max_length=32, blank=True)
    stripe_account = models.CharField(max_length=64, blank=True)
    # The bank file its line is written to (CSV provider), recorded before the line is: a run
    # that crashes after writing it finds the line there instead of writing it twice.
    bank_file = models.ForeignKey(
        BankFile, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a run claimed it to send (cleared with the provider's answer): while it is in flight,
    # reviewers cannot record it paid or not paid, which the provider call may yet contradict.
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    reversal = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "creator", "currency"], name="payout_once_per_creator_and_run"
            )
        ]

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.withholding_minor

    @property
    def gross(self) -> Money:
        return Money(self.gross_minor, self.currency)

    @property
    def withholding(self) -> Money:
        return Money(self.withholding_minor, self.currency)

    @property
    def net(self) -> Money:
        return Money(self.net_minor, self.currency)

    @property
    def idempotency_key(self) -> str:
        return f"outtake-payout-{self.pk}"


def validate_withholding_rate(value: Decimal | None) -> None:
    """A rate is a fraction of the payout: 0.30 withholds 30 %; 1 or more would take it all."""
    if value is not None and not Decimal(0) <= Decimal(value) < 1:
        raise ValidationError(
            "a withholding rate is at least 0 and below 1 (0.30 withholds 30 %%); got %(value)s",
            params={"value": value},
        )


class TaxProfile(models.Model):
    """A creator's tax residence and the fields of the US form they certified (W-9 for US
    persons, W-8BEN for other individuals). Tax ids are encrypted at rest and shown masked
    everywhere but the accountant's yearly export."""

    class Form(models.TextChoices):
        NONE = "", "none yet"
        W9 = "w9", "W-9 (US person)"
        W8BEN = "w8ben", "W-8BEN (individual, not a US person)"

    class Classification(models.TextChoices):
        """W-9 line 3a: the federal tax classification of the person named on line 1."""

        NONE = "", "—"
        INDIVIDUAL = "individual", "Individual/sole proprietor"
        C_CORPORATION = "c_corporation", "C corporation"
        S_CORPORATION = "s_corporation", "S corporation"
        PARTNERSHIP = "partnership", "Partnership"
        TRUST_ESTATE = "trust_estate", "Trust/estate"
        LLC_C = "llc_c", "LLC taxed as a C corporation"
        LLC_S = "llc_s", "LLC taxed as an S corporation"
        LLC_P = "llc_p", "LLC taxed as a partnership"
        OTHER = "other", "Other"

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="tax_profile"
    )
    country = models.CharField(max_length=2, help_text="Country of tax residence (ISO 3166)")
    form = models.CharField(max_length=8, choices=Form.choices, blank=True)
    legal_name = models.CharField(max_length=200)
    address = models.TextField(blank=True, help_text="Permanent residence address")
    # Encrypted at rest (config.encryption); max_length is the plain id's.
    tax_id = EncryptedTextField(max_length=32, blank=True, help_text="US SSN, ITIN or EIN")
    foreign_tax_id = EncryptedTextField(max_length=64, blank=True, help_text="W-8BEN line 6a")
    date_of_birth = models.DateField(null=True, blank=True, help_text="W-8BEN line 8")
    citizenship = models.CharField(max_length=2, blank=True, help_text="W-8BEN line 2")
    # W-8BEN lines 9 and 10: a treaty claim names the country, the article and paragraph,
    # the rate claimed and the type of income. None of these is an identifier: the ids
    # above are the encrypted fields.
    treaty_country = models.CharField(max_length=2, blank=True, help_text="W-8BEN line 9")
    treaty_article = models.CharField(max_length=64, blank=True, help_text="W-8BEN line 10")
    treaty_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="W-8BEN line 10, in %"
    )
    treaty_income_type = models.CharField(
        max_length=100, blank=True, help_text="W-8BEN line 10, e.g. royalties"
    )
    tax_classification = models.CharField(
        max_length=16, choices=Classification.choices, blank=True, help_text="W-9 line 3a"
    )
    business_name = models.CharField(max_length=200, blank=True, help_text="W-9 line 2")
    certified_name = models.CharField(max_length=200, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    # Set by a reviewer from the form (treaty rate, backup withholding) through
    # tax.set_withholding_rate; empty means the OUTTAKE_WITHHOLDING_RATE setting applies.
    withholding_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[validate_withholding_rate],
        help_text="A fraction: 0.30 withholds 30 %. Empty: the default rate.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(withholding_rate__isnull=True)
                | models.Q(withholding_rate__gte=0, withholding_rate__lt=1),
                name="withholding_rate_below_one",
            )
        ]


class StoredStatement(models.Model):
    """A monthly statement as it was issued: PDF and CSV blobs and the audit head printed."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="statements"
    )
    currency = models.CharField(max_length=3)
    start = models.DateTimeField()
    end = models.DateTimeField()
    opening_minor = models.BigIntegerField()
    closing_minor = models.BigIntegerField()
    audit_head = models.CharField(max_length=64, blank=True)
    pdf_key = models.CharField(max_length=300)
    csv_key = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency", "start", "end"], name="statement_once"
            )
        ]


class CardCheckout(models.Model):
    """A Stripe Checkout Session opened for an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="card_checkouts")
    session_id = models.CharField(max_length=200, unique=True)
    url = models.URLField(max_length=1000)
    # What the session asks the buyer to pay: once a bank part-payment changes what is due,
    # the session is stale (null: opened before amounts were kept, so stale too).
    amount_minor = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ProviderEvent(models.Model):
    """A payment provider's webhook event, stored once under its id: the same event delivered
    twice, even at the same moment, posts once."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=100)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT)
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)


class Collection(models.Model):
    """A pooled collection a lab licenses at one price (e.g. "4K drone B-roll, 2025"): the
    clips that fit it when quoted, split among their creators by rate-card value."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    min_tier = models.CharField(max_length=16, default="sd")
    tags_required = models.JSONField(default=list, blank=True)
    uses = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title

    @property
    def price(self) -> Money:
        return Money(self.price_minor, self.currency)
