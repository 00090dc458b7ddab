from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from outtake.accounts.forms import PlainForm
from outtake.core.terms import USES
from outtake.market.models import DatasetRequest

USE_CHOICES = [(code, use.label) for code, use in USES.items()]


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class DatasetRequestForm(PlainForm):
    title = forms.CharField(max_length=200, help_text="For your own reference.")
    media_type = forms.ChoiceField(
        label="Media",
        choices=DatasetRequest.MediaType.choices,
        initial=DatasetRequest.MediaType.VIDEO,
    )
    min_tier = forms.ChoiceField(label="Minimum resolution")
    min_fps = forms.FloatField(
        label="Minimum frame rate (fps)", min_value=0, initial=0, required=False
    )
    min_clip_seconds = forms.FloatField(
        label="Shortest clip (seconds)", min_value=0, initial=0, required=False
    )
    tags_required = forms.CharField(
        label="Required tags",
        required=False,
        max_length=500,
        help_text="Comma-separated; every clip must carry all of them, e.g. drone.",
    )
    tags_excluded = forms.CharField(
        label="Excluded tags",
        required=False,
        max_length=500,
        help_text="Comma-separated; clips with any of them are left out, e.g. people.",
    )
    minutes_wanted = forms.DecimalField(
        label="Minutes of video wanted",
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=60,
        required=False,
    )
    photos_wanted = forms.IntegerField(
        label="Photos wanted", min_value=0, initial=0, required=False
    )
    budget = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="The quote never goes above it.",
    )
    uses_needed = forms.MultipleChoiceField(
        label="Uses you need",
        choices=USE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["ai_training"],
        help_text="A creator may allow a use only under a written condition: the quote shows "
        "each condition's text, and you accept each one you agree to before licensing.",
    )
    exclusive = forms.BooleanField(
        label="Exclusive license",
        required=False,
        help_text="Costs more; the clips leave the catalogue for the license's term. Only "
        "never-sold footage qualifies.",
    )
    releases_for_everyone = forms.BooleanField(
        label="A model release for every person shown",
        required=False,
        help_text="Identifiable people always have one; this leaves out clips where a person "
        "shown in passing has none.",
    )
    max_creator_share = forms.IntegerField(
        label="Most from any one creator (% of the minutes)",
        min_value=1,
        max_value=100,
        initial=100,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        card = settings.RATE_CARD
        tiers = sorted(card.video_tiers, key=lambda t: t.min_long_side)
        self.fields["min_tier"].choices = [(t.code, t.label) for t in tiers]
        self.fields["min_tier"].initial = tiers[0].code
        self.fields["budget"].label = f"Budget ({card.currency})"

    def service_data(self) -> dict[str, Any]:
        """The cleaned form as market.services.create_request takes it."""
        data = dict(self.cleaned_data)
        data["tags_required"] = _tags(data["tags_required"])
        data["tags_excluded"] = _tags(data["tags_excluded"])
        data["max_creator_share"] = Decimal(data["max_creator_share"]) / 100
        return data
