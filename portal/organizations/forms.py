"""Page forms: they parse and label input; the services decide."""

from django import forms
from django.utils import timezone

from portal.organizations.models import IntegrationOrganization, Membership


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=80, help_text="Lower-case letters, digits and dashes; used in URLs and e-mails.")
    # Suspension is its own support action with a reason (organization_suspend), never a field edit.
    status = forms.ChoiceField(
        choices=[c for c in IntegrationOrganization.Status.choices if c[0] != IntegrationOrganization.Status.SUSPENDED]
    )
    rate_limit_per_minute = forms.IntegerField(
        label="Rate limit (requests per minute)",
        min_value=1,
        max_value=100_000,
        initial=600,
        help_text="Shared by every API client of the organization.",
    )
    brand_color = forms.CharField(
        label="Brand colour",
        max_length=7,
        initial="#1f4fd1",
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Used on the buyers' KYC pages and e-mails.",
    )
    logo = forms.FileField(
        required=False,
        help_text="PNG or JPEG, at most 1 MiB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )

    def __init__(self, *args, suspended: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if suspended:  # only reactivation changes a suspended organization's status
            del self.fields["status"]

    @classmethod
    def for_organization(cls, organization: IntegrationOrganization, **kwargs) -> "OrganizationForm":
        initial = {
            "name": organization.name,
            "slug": organization.slug,
            "status": organization.status,
            "rate_limit_per_minute": organization.rate_limit_per_minute,
            "brand_color": organization.brand_color,
        }
        return cls(initial=initial, suspended=organization.is_suspended, **kwargs)


class DpaForm(forms.Form):
    version = forms.CharField(max_length=40, help_text="The DPA template version, e.g. 2026-01.")
    signer_name = forms.CharField(max_length=200, label="Signed by (name)")
    signer_email = forms.EmailField(label="Signer's e-mail")
    signed_at = forms.DateTimeField(
        label="Signed at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    document = forms.FileField(
        label="Signed PDF",
        help_text="The countersigned agreement as a PDF, at most 10 MiB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_signed_at(self):
        value = self.cleaned_data["signed_at"]
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.UTC)
        return value


class SuspensionForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Why? Kept in the audit log and shown to the members."}),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why? (kept in the audit log)"}),
    )


class PartnerCreateForm(forms.Form):
    legal_name = forms.CharField(max_length=200)
    country_code = forms.CharField(
        max_length=2, min_length=2, label="Country", help_text="ISO code, e.g. DE.", widget=forms.TextInput()
    )
    vat_number = forms.CharField(max_length=20, label="VAT number", help_text="EU VAT number, e.g. DE136695976.")


class PartnerAuthorizeForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=None, empty_label="Choose a partner…")

    def __init__(self, *args, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        self.fields["partner"].label_from_instance = lambda p: f"{p.legal_name} · {p.vat_number}"


class CapabilityGrantForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.TextInput(attrs={"placeholder": "Reason (optional)"})
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
