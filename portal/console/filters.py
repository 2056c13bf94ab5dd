"""The audit log's FilterSet, shared by the per-organization page, the support page and the CSV export."""

import django_filters
from django import forms

from portal.core.models import AuditEntry
from portal.organizations.models import IntegrationOrganization

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _target_type_choices():
    """Every model of the portal's apps (audit targets are model labels); no scan of the audit table."""
    from django.apps import apps

    models = [m for m in apps.get_models() if m.__module__.startswith("portal.")]
    return sorted(((m._meta.label, str(m._meta.verbose_name).capitalize()) for m in models), key=lambda c: c[1])


def _organizations(request):
    return IntegrationOrganization.objects.order_by("name")


class AuditEntryFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        field_name="actor_label",
        lookup_expr="icontains",
        label="Actor",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e-mail or client id"}),
    )
    action = django_filters.CharFilter(
        lookup_expr="istartswith",
        label="Action",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. dpa. or partner_authorization."}),
    )
    target_type = django_filters.ChoiceFilter(choices=_target_type_choices, label="Target", empty_label="Any target")
    occurred_after = django_filters.DateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="From", widget=DATETIME_WIDGET
    )
    occurred_before = django_filters.DateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Until", widget=DATETIME_WIDGET
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "target_type", "occurred_after", "occurred_before"]


class SupportAuditEntryFilterSet(AuditEntryFilterSet):
    """Support's view across every organization adds an organization filter."""

    organization = django_filters.ModelChoiceFilter(
        queryset=_organizations, label="Organization", empty_label="All organizations"
    )

    class Meta(AuditEntryFilterSet.Meta):
        fields = ["organization", *AuditEntryFilterSet.Meta.fields]
