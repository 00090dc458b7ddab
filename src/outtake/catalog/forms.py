from django import forms

from outtake.accounts.forms import PlainForm
from outtake.catalog.services import SUGGESTED_TAGS


class TagsForm(PlainForm):
    suggested = forms.MultipleChoiceField(
        label="Suggested tags",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(t, t) for t in SUGGESTED_TAGS],
    )
    other = forms.CharField(
        label="Other tags",
        required=False,
        max_length=500,
        help_text="Separated by commas; letters, digits, - and _.",
    )

    @classmethod
    def for_tags(cls, tags: list[str]) -> "TagsForm":
        return cls(
            initial={
                "suggested": [t for t in tags if t in SUGGESTED_TAGS],
                "other": ", ".join(t for t in tags if t not in SUGGESTED_TAGS),
            }
        )

    def tags(self) -> list[str]:
        other = [t for t in self.cleaned_data["other"].split(",") if t.strip()]
        return [*self.cleaned_data["suggested"], *other]
