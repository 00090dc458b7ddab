from django import forms

from outtake.accounts.forms import PlainForm

# A hash list is text: a hash per line, or JSON lines from `outtake hashes`.
MAX_LIST_BYTES = 256 << 20


class HashListForm(PlainForm):
    name = forms.CharField(max_length=200, required=False, help_text="For your own reference.")
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=[
            ("outtake", "a file made by `outtake hashes`"),
            ("pdq", "PDQ hashes, one per line (ThreatExchange format)"),
            ("sha256", "SHA-256 digests, one per line (sha256sum output)"),
        ],
    )
    file = forms.FileField(label="Hash list file")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_LIST_BYTES:
            raise forms.ValidationError(
                f"the file is larger than {MAX_LIST_BYTES >> 20} MB; split it into several lists"
            )
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("a hash list is a text file (UTF-8)") from None
