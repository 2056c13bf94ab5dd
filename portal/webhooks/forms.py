from django import forms

from portal.webhooks.events import EVENT_SEGMENTS, EVENT_TYPES, subscription_coverage


def subscription_choices() -> list[tuple[str, str]]:
    wildcards = [
        (f"{segment}.*", f"{segment}.*  (every {segment} event: {len(subscription_coverage(segment + '.*'))} today)")
        for segment in sorted(EVENT_SEGMENTS)
        if segment != "webhook"
    ]
    exact = [(e.name, e.name) for e in EVENT_TYPES if e.name != "webhook.test"]
    return [("Segment wildcards", wildcards), ("Event types", exact)]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        help_text="https only; it must resolve to a public address.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/nt24", "autocomplete": "off"}),
    )
    description = forms.CharField(max_length=300, required=False)
    subscriptions = forms.MultipleChoiceField(
        choices=subscription_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="A segment wildcard also covers event types added to that segment later.",
    )
    partners = forms.MultipleChoiceField(
        label="Partner scope",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty to receive events of every partner.",
    )

    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partners"].choices = [(str(p.pk), p.legal_name) for p in partners]


class RotateSecretForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label="Overlap (hours)",
        min_value=0,
        max_value=168,
        initial=24,
        help_text="The old secret keeps signing too for this long (0-168 h).",
    )


class ConcurrencyForm(forms.Form):
    max_concurrency = forms.IntegerField(
        label="Requests at once",
        min_value=1,
        max_value=50,
        help_text="At most this many deliveries to this endpoint are in flight at once, across all workers (1-50).",
    )
