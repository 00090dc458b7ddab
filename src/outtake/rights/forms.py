from typing import Any

from django import forms

from outtake.accounts.forms import PlainForm
from outtake.core.terms import (
    ALLOWED,
    CONSTRAINED,
    NOT_ALLOWED,
    OPTIONAL_PROTECTIONS,
    PROTECTIONS,
    USES,
)

CARRIED = (
    "refused_buyers",
    "refused_categories",
    "approval_required",
    "min_price_per_minute",
    "territory",
    "term_years",
    "training_stop_notice_days",
)

STATE_CHOICES = [
    (ALLOWED, "Allowed"),
    (NOT_ALLOWED, "Not allowed"),
    (CONSTRAINED, "Allowed with my constraint"),
]


class TermsForm(PlainForm):
    """The six uses, each in one of three states, the protections, and exclusivity."""

    exclusive_allowed = forms.BooleanField(
        label="Buyers may license my footage exclusively (at the exclusive price)",
        required=False,
    )

    def __init__(self, *args, terms: dict[str, Any], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Not edited here (the API sets them), but carried into the next version, not dropped.
        self.carried = {key: terms.get(key) for key in CARRIED if key in terms}
        self.optional_protections = {
            code: terms.get("protections", {}).get(code, False) for code in OPTIONAL_PROTECTIONS
        }
        for code, use in USES.items():
            entry = terms["uses"][code]
            self.fields[f"use_{code}"] = forms.ChoiceField(
                label=use.label,
                choices=STATE_CHOICES,
                widget=forms.RadioSelect,
                initial=entry["state"],
            )
            self.fields[f"constraint_{code}"] = forms.CharField(
                label="Your constraint, which buyers must accept",
                required=False,
                max_length=1000,
                initial=entry["constraint"],
                widget=forms.TextInput(attrs={"placeholder": "e.g. non-commercial research only"}),
            )
        for code, text in PROTECTIONS.items():
            self.fields[f"protect_{code}"] = forms.BooleanField(
                label=text,
                required=False,
                initial=terms["protections"][code],
            )
        self.fields["exclusive_allowed"].initial = terms["exclusive_allowed"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for code in USES:
            if data.get(f"use_{code}") == CONSTRAINED and not data.get(f"constraint_{code}"):
                self.add_error(f"constraint_{code}", "Write the constraint buyers must accept.")
        return data

    def use_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"use_{code}"], self[f"constraint_{code}"]) for code in USES]

    def protection_fields(self) -> list[forms.BoundField]:
        return [self[f"protect_{code}"] for code in PROTECTIONS]

    def terms(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "uses": {
                code: {
                    "state": data[f"use_{code}"],
                    "constraint": data[f"constraint_{code}"].strip(),
                }
                for code in USES
            },
            "protections": {
                **self.optional_protections,
                **{code: data[f"protect_{code}"] for code in PROTECTIONS},
            },
            "exclusive_allowed": data["exclusive_allowed"],
            **self.carried,
        }
