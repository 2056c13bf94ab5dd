from django import forms

from portal.clients.services import ROTATION_WINDOWS_HOURS


class ClientCreateForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="One client per consuming system, e.g. “DMS” or “Accounting”.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class SecretRotateForm(forms.Form):
    window = forms.TypedChoiceField(
        label="Old secret stays valid for",
        choices=[(h, f"{h} hours") for h in ROTATION_WINDOWS_HOURS],
        coerce=int,
        initial=24,
        widget=forms.RadioSelect,
    )
    confirm_end_overlap = forms.BooleanField(
        required=False,
        label="End the current overlap now",
        help_text="The older secret that is still in its rotation window stops working immediately.",
    )
