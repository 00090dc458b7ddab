from django import forms

from outtake.ledger.models import TaxProfile


class TaxProfileForm(forms.Form):
    country = forms.CharField(max_length=2, help_text="Where you are resident for tax: DE, US, …")
    legal_name = forms.CharField(max_length=200)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    form = forms.ChoiceField(choices=TaxProfile.Form.choices, required=False)
    tax_id = forms.CharField(
        max_length=32,
        required=False,
        label="US tax id (SSN, ITIN or EIN)",
        help_text="Leave empty to keep the one on file.",
    )
    foreign_tax_id = forms.CharField(
        max_length=64,
        required=False,
        label="Tax id in your country (W-8BEN 6a)",
        help_text="Leave empty to keep the one on file.",
    )
    tax_classification = forms.ChoiceField(
        choices=TaxProfile.Classification.choices,
        required=False,
        label="Federal tax classification (W-9 3a)",
    )
    business_name = forms.CharField(
        max_length=200, required=False, label="Business name, if other than yours (W-9 2)"
    )
    citizenship = forms.CharField(
        max_length=2, required=False, label="Country of citizenship (W-8BEN 2)"
    )
    date_of_birth = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date of birth"
    )
    treaty_country = forms.CharField(
        max_length=2, required=False, label="Treaty country (W-8BEN 9)"
    )
    treaty_article = forms.CharField(
        max_length=64, required=False, label="Treaty article and paragraph (10)"
    )
    treaty_rate = forms.DecimalField(
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        label="Treaty rate of withholding claimed, % (10)",
    )
    treaty_income_type = forms.CharField(
        max_length=100, required=False, label="Type of income (10)", help_text="e.g. royalties"
    )
    certified_name = forms.CharField(
        max_length=200,
        required=False,
        label="Signature",
        help_text="Type your name to certify, under penalties of perjury, that the form is true.",
    )


class PayoutDestinationForm(forms.Form):
    holder_name = forms.CharField(max_length=200, required=False, label="Account holder")
    bank_account = forms.CharField(
        max_length=64,
        required=False,
        label="IBAN or account number",
        help_text="Leave empty to keep the one on file.",
    )
    bank_code = forms.CharField(max_length=32, required=False, label="BIC or routing number")
    stripe_account = forms.CharField(
        max_length=64, required=False, label="Stripe connected account (acct_…)"
    )
