from decimal import Decimal
from typing import Any

from django import forms

from outtake.accounts.forms import PlainForm
from outtake.accounts.models import Organization
from outtake.core.terms import (
    ALLOWED,
    BUYER_CATEGORIES,
    CONSTRAINED,
    NOT_ALLOWED,
    OPTIONAL_PROTECTIONS,
    PROTECTIONS,
    USES,
)

STATE_CHOICES = [
    (ALLOWED, "Allowed"),
    (NOT_ALLOWED, "Not allowed"),
    (CONSTRAINED, "Allowed with my constraint"),
]
COMMERCIAL = (
    "exclusive_allowed",
    "min_price_per_minute",
    "territory",
    "term_years",
    "training_stop_notice_days",
    "refused_buyers",
    "refused_categories",
    "approval_required",
    "precise_location",
    "original_c2pa_manifest",
)


class TermsForm(PlainForm):
    """Everything the terms hold: the six uses in three states, the protections (default ones
    turned off only with an explicit confirmation), and the commercial terms."""

    loosen_protections = forms.BooleanField(
        label="I give up the protections I turned off above, for every license from now on",
        required=False,
    )
    exclusive_allowed = forms.BooleanField(
        label="Buyers may license my footage exclusively (at the exclusive price)",
        required=False,
    )
    min_price_per_minute = forms.DecimalField(
        label="Minimum price per minute of video",
        required=False,
        min_value=Decimal(0),
        max_digits=9,
        decimal_places=2,
        help_text="In the rate card's currency; empty: no minimum.",
    )
    territory = forms.CharField(
        label="Territory",
        required=False,
        max_length=1000,
        help_text="Countries as ISO codes separated by commas (e.g. DE, FR); empty: worldwide.",
    )
    term_years = forms.IntegerField(
        label="Longest term in years",
        required=False,
        min_value=1,
        max_value=99,
        help_text="Empty: perpetual licenses allowed.",
    )
    training_stop_notice_days = forms.IntegerField(
        label="On revocation, no use in training runs started after this many days",
        required=False,
        min_value=0,
        max_value=365,
        help_text="Empty: a revocation only stops further deliveries.",
    )
    refused_buyers = forms.MultipleChoiceField(
        label="Buyers I refuse", required=False, widget=forms.CheckboxSelectMultiple
    )
    refused_categories = forms.MultipleChoiceField(
        label="Kinds of buyer I refuse",
        required=False,
        choices=list(BUYER_CATEGORIES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    approval_required = forms.BooleanField(
        label="Allow-list: I approve each deal before it is concluded", required=False
    )
    precise_location = forms.BooleanField(
        label="Deliver precise location (GPS finer than about 1 km)", required=False
    )
    original_c2pa_manifest = forms.BooleanField(
        label="Deliver my originals' own C2PA manifests (from cameras or apps that sign)",
        required=False,
        help_text="Off: buyers learn only that an original had one and whether it was valid. "
        "On: it travels with each delivered file, with serial numbers, GPS, names and "
        "thumbnails removed, but its title (often the camera's file name), the software that "
        "made it and the signer's certificate, which may name your camera or you, cannot be "
        "removed.",
    )

    def __init__(self, *args, terms: dict[str, Any], **kwargs) -> None:
        super().__init__(*args, **kwargs)
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
        for code, text in {**PROTECTIONS, **OPTIONAL_PROTECTIONS}.items():
            self.fields[f"protect_{code}"] = forms.BooleanField(
                label=text,
                required=False,
                initial=terms["protections"].get(code, code in PROTECTIONS),
            )
        buyers = Organization.objects.filter(kind=Organization.Kind.BUYER).order_by("name")
        self.fields["refused_buyers"].choices = [
            (str(org.id), f"{org.name_for_creators} ({org.pseudonym})") for org in buyers
        ]
        for name in COMMERCIAL:
            value = terms.get(name)
            if name == "territory":
                value = ", ".join(value or [])
            self.fields[name].initial = value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for code in USES:
            if data.get(f"use_{code}") == CONSTRAINED and not data.get(f"constraint_{code}"):
                self.add_error(f"constraint_{code}", "Write the constraint buyers must accept.")
        loosened = [code for code in PROTECTIONS if not data.get(f"protect_{code}")]
        if loosened and not data.get("loosen_protections"):
            self.add_error(
                "loosen_protections",
                "You turned off a protection: confirm that you give it up, or turn it back on.",
            )
        return data

    def clean_territory(self) -> list[str]:
        codes = [c.strip().upper() for c in self.cleaned_data["territory"].split(",")]
        codes = [c for c in codes if c]
        bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
        if bad:
            raise forms.ValidationError(f"Not ISO country codes: {', '.join(bad)}")
        return codes

    def use_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"use_{code}"], self[f"constraint_{code}"]) for code in USES]

    def protection_fields(self) -> list[forms.BoundField]:
        return [self[f"protect_{code}"] for code in {**PROTECTIONS, **OPTIONAL_PROTECTIONS}]

    def commercial_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in COMMERCIAL]

    def terms(self) -> dict[str, Any]:
        data = self.cleaned_data
        floor = data["min_price_per_minute"]
        return {
            "uses": {
                code: {
                    "state": data[f"use_{code}"],
                    "constraint": data[f"constraint_{code}"].strip(),
                }
                for code in USES
            },
            "protections": {
                code: data[f"protect_{code}"] for code in {**PROTECTIONS, **OPTIONAL_PROTECTIONS}
            },
            **{name: data[name] for name in COMMERCIAL},
            "min_price_per_minute": None if floor is None else str(floor),
        }


class ReleaseForm(PlainForm):
    """A release for one of the creator's assets: a signing link to send, or an uploaded one."""

    asset = forms.ChoiceField(label="Asset")
    kind = forms.ChoiceField(
        label="Release",
        choices=[
            ("model", "Model release: a person shown"),
            ("property", "Property release: a private place or an artwork shown"),
        ],
        widget=forms.RadioSelect,
        initial="model",
    )
    person = forms.CharField(
        label="Who or what is shown",
        max_length=200,
        help_text="E.g. “man with the guitar”, or “mural on 5 Elm St; owner J. Lee”.",
    )
    minor = forms.BooleanField(label="The person is under 18", required=False)
    guardian_name = forms.CharField(label="Guardian's name", max_length=200, required=False)
    document = forms.FileField(
        label="Signed release (PDF, PNG or JPEG)",
        required=False,
        help_text="Leave empty to get a link the person (or owner) signs on their phone.",
    )

    def __init__(self, *args, assets, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["asset"].choices = [(str(a.id), a.original_filename) for a in assets]
