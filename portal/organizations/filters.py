"""One FilterSet per list: the support console's organization list."""

import django_filters
from django import forms
from django.db.models import Q

from portal.organizations.models import IntegrationOrganization


class OrganizationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or slug"}),
    )
    status = django_filters.ChoiceFilter(choices=IntegrationOrganization.Status.choices, empty_label="Any status")
    dpa = django_filters.ChoiceFilter(
        label="DPA",
        choices=[("signed", "Signed"), ("missing", "Missing")],
        method="filter_dpa",
        empty_label="Any DPA",
    )

    class Meta:
        model = IntegrationOrganization
        fields = ["q", "status", "dpa"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))

    def filter_dpa(self, queryset, name, value):
        # `has_active_dpa` is annotated by selectors.organization_list.
        return queryset.filter(has_active_dpa=(value == "signed"))
