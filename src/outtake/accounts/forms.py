from django import forms

from outtake.accounts.models import User

OWNERSHIP_ATTESTATION = "I accept the creator agreement and I own the rights to what I upload"


class PlainForm(forms.Form):
    """Our forms' labels end without Django's colon (many are sentences or checkboxes)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(PlainForm):
    role = forms.ChoiceField(
        label="I am",
        choices=[
            (User.Role.CREATOR, "a creator: I license my unpublished footage"),
            (User.Role.BUYER, "a buyer: I license datasets for an AI lab"),
        ],
        widget=forms.RadioSelect,
        initial=User.Role.CREATOR,
    )
    organization = forms.CharField(
        label="Organization or your name",
        max_length=200,
        required=False,
        help_text="Buyers see creators only by a pseudonym.",
    )
    email = forms.EmailField(label="E-mail")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters.",
    )
    owns_rights = forms.BooleanField(
        label=OWNERSHIP_ATTESTATION,
        required=False,
        help_text="Creators only: you made the footage and hold all rights in it; it is not "
        "work made for or owned by a client; it is not licensed exclusively to anyone else; it "
        "has no third-party music or other material you do not own.",
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("role") == User.Role.CREATOR and not data.get("owns_rights"):
            self.add_error(
                "owns_rights", "Creators must confirm they own the rights to what they upload."
            )
        return data


class LoginForm(PlainForm):
    email = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class TokenForm(PlainForm):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “NAS sync”.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, allowed: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, s) for s in allowed]
        self.fields["scopes"].initial = allowed
