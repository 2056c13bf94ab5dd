"""The one FilterSet of the delivery history, shared by the pages, the API and bulk replay."""

import uuid
from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from portal.core.times import rfc3339
from portal.webhooks.events import EVENT_TYPES
from portal.webhooks.models import WebhookDelivery

STATUS_CLASSES = [("2xx", "2xx"), ("3xx", "3xx"), ("4xx", "4xx"), ("5xx", "5xx"), ("none", "No response")]


def parse_event_id(value: str) -> uuid.UUID:
    """Accept the `webhook-id` (`msg_<hex>`) or the bare UUID."""
    raw = (value or "").strip()
    if raw.startswith("msg_"):
        raw = raw[4:]
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ValidationError("Enter an event id (msg_… or a UUID).") from exc


class EventIdField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return parse_event_id(value) if value else None


class EventIdFilter(django_filters.Filter):
    field_class = EventIdField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant taken to UTC: PostgreSQL refuses UTC offsets beyond ±15:59, which Python accepts."""

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError as exc:
            raise ValidationError("Enter a date and time between the years 1 and 9999 in UTC.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class DeliveryFilter(django_filters.FilterSet):
    endpointId = django_filters.UUIDFilter(field_name="endpoint_id", label="Endpoint")
    eventType = django_filters.ChoiceFilter(
        field_name="event_type",
        label="Event type",
        choices=[(e.name, e.name) for e in EVENT_TYPES],
        empty_label="Any event type",
    )
    status = django_filters.ChoiceFilter(
        field_name="status", choices=WebhookDelivery.Status.choices, empty_label="Any status"
    )
    statusClass = django_filters.ChoiceFilter(
        label="Response", choices=STATUS_CLASSES, method="filter_status_class", empty_label="Any response"
    )
    createdAfter = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="From")
    createdBefore = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Until")
    eventId = EventIdFilter(field_name="event_id", label="Event id")
    partnerId = django_filters.UUIDFilter(field_name="partner_id", label="Partner")

    class Meta:
        model = WebhookDelivery
        fields: list = []

    def __init__(self, *args, organization=None, endpoints=None, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if endpoints is not None:
            self.form.fields["endpointId"] = forms.TypedChoiceField(
                label="Endpoint",
                required=False,
                choices=[("", "Any endpoint")] + [(str(e.pk), e.url) for e in endpoints],
                coerce=uuid.UUID,
                empty_value=None,
            )
        if partners is not None:
            self.form.fields["partnerId"] = forms.TypedChoiceField(
                label="Partner",
                required=False,
                choices=[("", "Any partner")] + [(str(p.pk), p.legal_name) for p in partners],
                coerce=uuid.UUID,
                empty_value=None,
            )
        for name in ("createdAfter", "createdBefore"):
            self.form.fields[name].widget.input_type = "datetime-local"
            self.form.fields[name].help_text = "UTC"

    def filter_status_class(self, queryset, name, value):
        if value == "none":
            return queryset.filter(last_status_code__isnull=True, attempt_count__gt=0)
        low = int(value[0]) * 100
        return queryset.filter(last_status_code__gte=low, last_status_code__lt=low + 100)

    @property
    def active_filters(self) -> dict:
        """The cleaned, non-empty filters as JSON-safe strings (stored on a bulk replay job)."""
        if not self.is_valid():
            return {}
        return {
            k: rfc3339(v) if isinstance(v, datetime) else str(v)
            for k, v in self.form.cleaned_data.items()
            if v not in (None, "")
        }
