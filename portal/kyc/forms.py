from django import forms
from django.conf import settings

from portal.kyc.models import KycLevel
from portal.organizations.selectors import organization_partners


class BuyerCreateForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=None, label="Seller (partner)")
    vat_number = forms.CharField(label="VAT number", max_length=40, help_text="EU VAT number with country prefix.")
    name = forms.CharField(label="Company name", max_length=200)
    email = forms.EmailField(label="E-mail", required=False)
    kyc_level = forms.ChoiceField(label="KYC level", choices=KycLevel.choices, initial=KycLevel.A)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = organization_partners(organization=organization)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Send to", required=False, help_text="Defaults to the buyer's e-mail.")
    locale = forms.ChoiceField(label="Language", choices=[("", "Buyer's browser"), *settings.LANGUAGES], required=False)
    expires_in_days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=30, initial=7)
