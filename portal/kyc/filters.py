"""One FilterSet per list, shared by the buyer page and GET /v1/partners/{sellerId}/buyers."""

import django_filters
from django.db.models import Q

from portal.kyc.models import Buyer, ComplianceStatus, KycLevel, ViesResult


class BuyerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", help_text="Search name, VAT number or e-mail.")
    kycLevel = django_filters.ChoiceFilter(
        field_name="kyc_level", choices=KycLevel.choices, label="KYC level", empty_label="Any"
    )
    viesResult = django_filters.ChoiceFilter(
        field_name="vies_result", choices=ViesResult.choices, label="VIES", empty_label="Any"
    )
    complianceStatus = django_filters.ChoiceFilter(
        field_name="compliance_status", choices=ComplianceStatus.choices, label="Compliance", empty_label="Any"
    )
    vatNumber = django_filters.CharFilter(method="filter_vat", label="VAT number")

    class Meta:
        model = Buyer
        fields: list = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        compact = value.replace(" ", "").upper()
        return queryset.filter(Q(name__icontains=value) | Q(vat_number__icontains=compact) | Q(email__icontains=value))

    def filter_vat(self, queryset, name, value):
        return queryset.filter(vat_number=value.replace(" ", "").replace(".", "").replace("-", "").upper())
