from django import forms

from portal.clients.services import PAUSE_DURATIONS_MINUTES, ROTATION_WINDOWS_HOURS


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


def _pause_label(minutes: int) -> str:
    if not minutes:
        return "Until unpaused"
    return f"{minutes} minutes" if minutes < 60 else f"{minutes // 60} hour{'s' if minutes > 60 else ''}"


class ClientPauseForm(forms.Form):
    minutes = forms.TypedChoiceField(
        label="Pause for",
        choices=[(m, _pause_label(m)) for m in PAUSE_DURATIONS_MINUTES],
        coerce=int,
        initial=60,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        max_length=200,
        help_text="Shown to the caller in the client-paused problem and kept in the audit log.",
    )
