"""Creators' tax profiles and payout details, and the yearly earnings export for accountants.

Tax ids and bank account numbers are encrypted at rest (config.encryption) and read back for
filings and bank files; both are shown masked everywhere but the yearly export for the
creator's accountant (and the bank file); the audit trail records that they changed,
never their values.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.money import Money
from outtake.ledger.models import PayoutDestination, TaxProfile, validate_withholding_rate
from outtake.ledger.payouts import withholding_rate
from outtake.ledger.services import LedgerError
from outtake.ledger.statements import statement
from outtake.notices.services import notify_org

SENSITIVE = ("tax_id", "foreign_tax_id", "bank_account")
COUNTRY = re.compile(r"^[A-Z]{2}$")


def mask(value: str) -> str:
    """Show only the last four characters: enough to recognise, not enough to use."""
    value = value.replace(" ", "")
    if not value:
        return ""
    return "•" * 4 + value[-4:] if len(value) > 4 else "•" * len(value)


def _creator_org(user):
    if not user.is_creator:
        raise PermissionError("tax profiles and payout details are for creators")
    return user.organization


def _clean(data: dict[str, Any], fields: tuple[str, ...], old) -> dict[str, Any]:
    """Strip text; an empty sensitive field keeps what is on file (pages never show it)."""
    out = {}
    for name in fields:
        value = data.get(name)
        value = value.strip() if isinstance(value, str) else value
        if name in SENSITIVE and not value and old is not None:
            value = getattr(old, name)
        out[name] = value if value is not None else ""
    return out


TAX_FIELDS = (
    "country",
    "form",
    "legal_name",
    "address",
    "tax_id",
    "foreign_tax_id",
    "tax_classification",
    "business_name",
    "citizenship",
    "date_of_birth",
    "treaty_country",
    "treaty_article",
    "treaty_rate",
    "treaty_income_type",
    "certified_name",
)
TREATY = ("treaty_country", "treaty_article", "treaty_rate", "treaty_income_type")


@transaction.atomic
def save_tax_profile(user, data: dict[str, Any]) -> TaxProfile:
    """Store the creator's tax residence and form; the withholding rate stays a reviewer's."""
    org = _creator_org(user)
    old = TaxProfile.objects.select_for_update().filter(organization=org).first()
    values = _clean(data, TAX_FIELDS, old)
    for code in ("country", "treaty_country", "citizenship"):
        values[code] = values[code].upper()
        if values[code] and not COUNTRY.match(values[code]):
            raise LedgerError(f"{code.replace('_', ' ')}: a two-letter ISO code, e.g. DE or US")
    values["date_of_birth"] = values["date_of_birth"] or None
    values["treaty_rate"] = _treaty_rate(values["treaty_rate"])
    if not values["country"]:
        raise LedgerError("country: a two-letter ISO code, e.g. DE or US")
    if values["tax_classification"] not in TaxProfile.Classification.values:
        raise LedgerError("tax classification: one of the W-9's")
    if not values["legal_name"]:
        raise LedgerError("your legal name is needed")
    for name in TAX_FIELDS:
        limit = TaxProfile._meta.get_field(name).max_length
        if limit and isinstance(values[name], str) and len(values[name]) > limit:
            raise LedgerError(f"{name.replace('_', ' ')}: at most {limit} characters")
    form = values["form"]
    if form == TaxProfile.Form.W9:
        if len(re.sub(r"\D", "", values["tax_id"])) != 9:
            raise LedgerError("a W-9 needs a 9-digit SSN, ITIN or EIN")
        if not values["tax_classification"]:
            raise LedgerError("a W-9 needs your federal tax classification (line 3a)")
    elif form == TaxProfile.Form.W8BEN:
        if values["country"] == "US":
            raise LedgerError("a W-8BEN is for people who are not US persons; use a W-9")
        if not values["citizenship"]:
            raise LedgerError("a W-8BEN needs your country of citizenship (line 2)")
        if not values["date_of_birth"]:
            raise LedgerError("a W-8BEN needs your date of birth")
    elif form:
        raise LedgerError("form must be w9, w8ben or empty")
    _check_treaty_claim(values)
    if form and not values["certified_name"]:
        raise LedgerError("sign the certification by typing your name")
    profile = old or TaxProfile(organization=org)
    for name, value in values.items():
        setattr(profile, name, value)
    if form:
        profile.certified_at = timezone.now()
    profile.save()
    record(
        "tax_profile.saved",
        actor=user,
        org=org,
        subject=profile,
        data={
            "country": profile.country,
            "form": profile.form,
            "treaty": {
                "country": profile.treaty_country,
                "article": profile.treaty_article,
                "rate": None if profile.treaty_rate is None else str(profile.treaty_rate),
            },
        },
    )
    return profile


@transaction.atomic
def set_withholding_rate(profile: TaxProfile, rate: Decimal | None, *, by) -> TaxProfile:
    """A reviewer sets the creator's own rate from their form (None: the default applies);
    the change is audited and the creator told."""
    if by is None or not by.is_reviewer:
        raise PermissionError("only reviewers set a withholding rate")
    try:
        validate_withholding_rate(rate)
    except ValidationError as exc:
        raise LedgerError(exc.messages[0]) from exc
    profile = TaxProfile.objects.select_for_update().get(pk=profile.pk)
    old = profile.withholding_rate
    if old == rate:
        return profile
    profile.withholding_rate = rate
    profile.save(update_fields=["withholding_rate", "updated_at"])
    record(
        "tax_profile.withholding_rate",
        actor=by,
        org=profile.organization,
        subject=profile,
        data={"old": None if old is None else str(old), "new": None if rate is None else str(rate)},
    )
    now, _ = effective_withholding(profile.organization)
    notify_org(
        profile.organization,
        "tax.withholding",
        f"Your withholding rate is now {now:.2%}",
        "A reviewer set it from your tax form; it applies to your next payouts.",
        "/earnings/tax/",
    )
    return profile


def _treaty_rate(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        rate = Decimal(str(value))
    except ArithmeticError as exc:
        raise LedgerError("treaty rate: a percentage, e.g. 0 or 15") from exc
    if not Decimal(0) <= rate <= 100 or rate != rate.quantize(Decimal("0.01")):
        raise LedgerError("treaty rate: a percentage from 0 to 100, at most two decimals")
    return rate


def _check_treaty_claim(values: dict[str, Any]) -> None:
    """A treaty claim (W-8BEN line 10) is all of country, article, rate and income type, or
    none of them; the treaty is the one of the country of residence (line 9). Only a W-8BEN
    makes one: on any other form the fields would reach the accountant's export unchecked."""
    given = [name for name in TREATY if values[name] not in ("", None)]
    if given and values["form"] != TaxProfile.Form.W8BEN:
        raise LedgerError("a treaty claim is made on a W-8BEN: choose it or leave the treaty empty")
    if given and len(given) < len(TREATY):
        missing = ", ".join(
            n.removeprefix("treaty_").replace("_", " ") for n in TREATY if n not in given
        )
        raise LedgerError(f"a treaty claim also needs: {missing}")
    if given and values["treaty_country"] != values["country"]:
        raise LedgerError("the treaty claimed is the one of your country of tax residence")


DESTINATION_FIELDS = ("holder_name", "bank_account", "bank_code", "stripe_account")


@transaction.atomic
def save_payout_destination(user, data: dict[str, Any]) -> PayoutDestination:
    org = _creator_org(user)
    old = PayoutDestination.objects.select_for_update().filter(organization=org).first()
    values = _clean(data, DESTINATION_FIELDS, old)
    values["bank_account"] = values["bank_account"].replace(" ", "").upper()
    if values["stripe_account"] and not re.fullmatch(
        r"acct_[A-Za-z0-9]+", values["stripe_account"]
    ):
        raise LedgerError("a Stripe connected account id looks like acct_1A2b3C…")
    if not (values["bank_account"] or values["stripe_account"]):
        raise LedgerError("enter a bank account or a Stripe connected account")
    if values["bank_account"] and not values["holder_name"]:
        raise LedgerError("the account holder's name is needed for a bank transfer")
    dest = old or PayoutDestination(organization=org)
    for name, value in values.items():
        setattr(dest, name, value)
    dest.save()
    record(
        "payout_destination.saved",
        actor=user,
        org=org,
        subject=dest,
        data={
            "bank_account": mask(dest.bank_account),
            "stripe_account": bool(dest.stripe_account),
        },
    )
    return dest


def effective_withholding(org) -> tuple[Decimal, str]:
    """The rate applied at payout and where it comes from, for the creator to see."""
    own = TaxProfile.objects.filter(organization=org, withholding_rate__isnull=False).exists()
    return withholding_rate(org), "set for you from your tax form" if own else "the default"


YEARLY_COLUMNS = (
    "month",
    "sales_gross",
    "outtake_fees",
    "creator_share",
    "refunds",
    "earnings_net",
    "payouts_gross",
    "tax_withheld",
    "payouts_net",
)


def yearly_export_csv(org, year: int, currency: str = "USD") -> str:
    """A creator's year, one row per month and a total: what was sold, what Outtake kept,
    what was refunded, paid and withheld, in major units. Built from the statements, so it
    agrees with them and with the ledger."""
    profile = TaxProfile.objects.filter(organization=org).first()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["# Outtake earnings", year, currency, org.pseudonym])
    if profile:
        # The accountant files with the ids: the one place besides the database they appear.
        w.writerow(["# tax residence", profile.country, profile.get_form_display()])
        w.writerow(["# tax ids", profile.legal_name, profile.tax_id, profile.foreign_tax_id])
        if profile.form == TaxProfile.Form.W9:
            w.writerow(["# W-9", profile.get_tax_classification_display(), profile.business_name])
        if profile.form == TaxProfile.Form.W8BEN:
            w.writerow(["# W-8BEN citizenship", profile.citizenship])
        if profile.treaty_country:
            w.writerow(
                [
                    "# treaty claim",
                    profile.treaty_country,
                    profile.treaty_article,
                    # A profile saved before claims were checked may lack the rate.
                    "" if profile.treaty_rate is None else f"{profile.treaty_rate}%",
                    profile.treaty_income_type,
                ]
            )
    w.writerow(YEARLY_COLUMNS)
    totals = [0] * (len(YEARLY_COLUMNS) - 1)
    for m in range(1, 13):
        start = datetime(year, m, 1, tzinfo=UTC)
        end = datetime(year + m // 12, m % 12 + 1, 1, tzinfo=UTC)
        st = statement(org, start, end, currency)
        sales = st.of_kind("sale")
        gross = sum(ln.gross.minor for ln in sales)
        fees = sum(ln.fee.minor for ln in sales)
        share = sum(ln.amount.minor for ln in sales)
        refunds = sum(ln.amount.minor for ln in st.of_kind("refund") + st.of_kind("cancelled"))
        payouts = st.of_kind("payout") + st.of_kind("payout reversal")
        paid = -sum(ln.amount.minor for ln in payouts)
        withheld = sum(ln.withholding.minor for ln in payouts if ln.withholding)
        row = [gross, fees, share, refunds, share + refunds, paid, withheld, paid - withheld]
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        w.writerow([f"{year:04d}-{m:02d}", *(_major(v, currency) for v in row)])
    w.writerow(["total", *(_major(v, currency) for v in totals)])
    return out.getvalue()


def _major(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())
