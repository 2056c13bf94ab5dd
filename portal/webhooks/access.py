"""Fetch-and-authorize webhooks objects: another organization's object is a 404."""

from django.http import Http404

from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookReplayJob


def _get(queryset, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def access_endpoint(*, organization, endpoint_id) -> WebhookEndpoint:
    return _get(WebhookEndpoint.objects.filter(organization=organization).prefetch_related("partners"), endpoint_id)


def access_delivery(*, organization, delivery_id) -> WebhookDelivery:
    return _get(
        WebhookDelivery.objects.filter(organization=organization).select_related("event", "endpoint", "partner"),
        delivery_id,
    )


def access_replay_job(*, organization, replay_id) -> WebhookReplayJob:
    return _get(WebhookReplayJob.objects.filter(organization=organization), replay_id)
