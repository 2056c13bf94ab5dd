"""/v1/webhooks: event catalog, endpoints, secrets, deliveries and replays. Thin: access, service, serialize."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from portal.core.api.schema import BODY_ID, FIRST_ITEM_ID, links_to, problem_responses, request_path
from portal.core.audit import Actor
from portal.core.pagination import keyset_page, parse_limit
from portal.core.times import rfc3339
from portal.gateway.views import IntegrationAPIView
from portal.organizations.capabilities import CapabilitySlug
from portal.webhooks import selectors, services
from portal.webhooks.access import access_delivery, access_endpoint, access_replay_job
from portal.webhooks.api import serializers as s
from portal.webhooks.events import EVENT_TYPES

TAGS = ["webhooks"]


def _endpoint_links(endpoint_id: str):
    return {
        **links_to(
            "webhooks_endpoints_retrieve",
            "webhooks_endpoints_partial_update",
            "webhooks_endpoints_destroy",
            "webhooks_endpoints_secret_retrieve",
            "webhooks_endpoints_rotate_secret",
            "webhooks_endpoints_test",
            endpoint_id=endpoint_id,
        ),
        **links_to("webhooks_deliveries_list", endpointId=endpoint_id),
    }


def _delivery_links(delivery_id: str):
    return links_to("webhooks_deliveries_retrieve", "webhooks_deliveries_replay", delivery_id=delivery_id)


class WebhooksAPIView(IntegrationAPIView):
    required_capability = CapabilitySlug.WEBHOOKS

    @property
    def actor(self) -> Actor:
        return Actor.from_request(self.request)


def _endpoint_json(endpoint) -> dict:
    return s.EndpointSerializer(endpoint).data


CURSOR_PARAMS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `nextCursor` of the previous page."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1-200, default 50."),
]


class EventTypeListView(WebhooksAPIView):
    @extend_schema(
        operation_id="webhooks_event_types_list",
        summary="Event catalog",
        description="Every event type with its description and an example payload. Every payload carries "
        "`data.version`, the resource's state version, so receivers can ignore stale events.",
        tags=TAGS,
        responses={200: s.EventTypeListSerializer},
    )
    def get(self, request):
        return Response({"data": s.EventTypeSerializer(EVENT_TYPES, many=True).data})


class EndpointListView(WebhooksAPIView):
    response_links = {("GET", 200): _endpoint_links(FIRST_ITEM_ID), ("POST", 201): _endpoint_links(BODY_ID)}

    @extend_schema(
        operation_id="webhooks_endpoints_list",
        summary="List endpoints",
        tags=TAGS,
        parameters=CURSOR_PARAMS,
        responses={200: s.EndpointListSerializer, **problem_responses("validation-error")},
    )
    def get(self, request):
        page = keyset_page(
            selectors.endpoint_list(organization=self.organization),
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
            ordering=("created_at", "id"),
        )
        return Response({"data": [_endpoint_json(e) for e in page.items], "nextCursor": page.next_cursor})

    @extend_schema(
        operation_id="webhooks_endpoints_create",
        summary="Create an endpoint",
        description="Subscriptions are exact event types or segment wildcards (`kyc.*`); a root `*` is refused. "
        "The URL must be https and resolve to a public address. A `whsec_` signing secret is generated; "
        "read it with GET …/secret.",
        tags=TAGS,
        request=s.EndpointWriteSerializer,
        responses={
            201: s.EndpointSerializer,
            **problem_responses("validation-error", "webhook-url-not-allowed", "wildcard-subscription-not-allowed"),
        },
    )
    def post(self, request):
        body = s.EndpointWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        endpoint = services.endpoint_create(
            actor=self.actor,
            organization=self.organization,
            url=data["url"],
            description=data["description"],
            subscriptions=data["subscriptions"],
            partner_ids=data["partnerIds"],
            enabled=data["enabled"],
            max_concurrency=data.get("maxConcurrency"),
        )
        endpoint = access_endpoint(organization=self.organization, endpoint_id=endpoint.pk)
        return Response(_endpoint_json(endpoint), status=status.HTTP_201_CREATED)


class EndpointDetailView(WebhooksAPIView):
    response_links = {("PATCH", 200): _endpoint_links(request_path("endpoint_id"))}

    def _endpoint(self, endpoint_id):
        return access_endpoint(organization=self.organization, endpoint_id=endpoint_id)

    @extend_schema(
        operation_id="webhooks_endpoints_retrieve",
        summary="Get an endpoint",
        tags=TAGS,
        responses={200: s.EndpointSerializer},
    )
    def get(self, request, endpoint_id):
        return Response(_endpoint_json(self._endpoint(endpoint_id)))

    @extend_schema(
        operation_id="webhooks_endpoints_partial_update",
        summary="Update an endpoint",
        description="Change any of url, description, subscriptions, enabled, partnerIds. Enabling a disabled "
        "endpoint resets its failure streak.",
        tags=TAGS,
        request=s.EndpointPatchSerializer,
        responses={
            200: s.EndpointSerializer,
            **problem_responses("validation-error", "webhook-url-not-allowed", "wildcard-subscription-not-allowed"),
        },
    )
    def patch(self, request, endpoint_id):
        endpoint = self._endpoint(endpoint_id)
        body = s.EndpointPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "partnerIds" in changes:
            changes["partner_ids"] = changes.pop("partnerIds")
        if "maxConcurrency" in changes:
            changes["max_concurrency"] = changes.pop("maxConcurrency")
        services.endpoint_update(actor=self.actor, endpoint=endpoint, **changes)
        return Response(_endpoint_json(self._endpoint(endpoint_id)))

    @extend_schema(
        operation_id="webhooks_endpoints_destroy",
        summary="Delete an endpoint",
        tags=TAGS,
        description="The endpoint and its delivery history are deleted.",
        responses={204: None},
    )
    def delete(self, request, endpoint_id):
        services.endpoint_delete(actor=self.actor, endpoint=self._endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointSecretView(WebhooksAPIView):
    @extend_schema(
        operation_id="webhooks_endpoints_secret_retrieve",
        summary="Get the signing secret(s)",
        description="The current `whsec_` secret, and during a rotation overlap the previous one with its "
        "expiry. Every read is written to the audit log.",
        tags=TAGS,
        responses={200: s.SecretListSerializer},
    )
    def get(self, request, endpoint_id):
        endpoint = access_endpoint(organization=self.organization, endpoint_id=endpoint_id)
        secrets = services.endpoint_secret_reveal(actor=self.actor, endpoint=endpoint)
        response = Response({"data": s.SecretSerializer(secrets, many=True).data})
        response["Cache-Control"] = "no-store"
        return response


class EndpointRotateSecretView(WebhooksAPIView):
    @extend_schema(
        operation_id="webhooks_endpoints_rotate_secret",
        summary="Rotate the signing secret",
        description="A new secret signs from now on; the previous one also signs (two signatures in "
        "`webhook-signature`) for `overlapHours` (default 24, at most 168).",
        tags=TAGS,
        request=s.RotateSecretSerializer,
        responses={200: s.SecretListSerializer, **problem_responses("validation-error")},
    )
    def post(self, request, endpoint_id):
        endpoint = access_endpoint(organization=self.organization, endpoint_id=endpoint_id)
        body = s.RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_secret_rotate(
            actor=self.actor, endpoint=endpoint, overlap=timedelta(hours=body.validated_data["overlapHours"])
        )
        secrets = services.endpoint_secret_reveal(actor=self.actor, endpoint=endpoint)
        response = Response({"data": s.SecretSerializer(secrets, many=True).data})
        response["Cache-Control"] = "no-store"
        return response


class EndpointTestView(WebhooksAPIView):
    response_links = {("POST", 202): _delivery_links(BODY_ID)}

    @extend_schema(
        operation_id="webhooks_endpoints_test",
        summary="Send a test event",
        description="Sends `webhook.test` to this endpoint, whatever it subscribes to. Follow the returned "
        "delivery with GET /v1/webhooks/deliveries/{deliveryId}.",
        tags=TAGS,
        request=None,
        responses={202: s.DeliverySerializer, **problem_responses("webhook-endpoint-disabled")},
    )
    def post(self, request, endpoint_id):
        endpoint = access_endpoint(organization=self.organization, endpoint_id=endpoint_id)
        delivery = services.endpoint_send_test(actor=self.actor, endpoint=endpoint)
        delivery.refresh_from_db()
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


DELIVERY_FILTER_PARAMS = [
    OpenApiParameter("endpointId", OpenApiTypes.UUID),
    OpenApiParameter("eventType", OpenApiTypes.STR, description="An event type of the catalog."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=["PENDING", "RETRYING", "SUCCEEDED", "FAILED"]),
    OpenApiParameter(
        "statusClass",
        OpenApiTypes.STR,
        enum=["2xx", "3xx", "4xx", "5xx", "none"],
        description="Class of the last response status; `none`: no response (network failure).",
    ),
    OpenApiParameter("createdAfter", OpenApiTypes.DATETIME, description="Inclusive."),
    OpenApiParameter("createdBefore", OpenApiTypes.DATETIME, description="Exclusive."),
    OpenApiParameter("eventId", OpenApiTypes.STR, description="The `webhook-id` (`msg_…`) or the event UUID."),
    OpenApiParameter("partnerId", OpenApiTypes.UUID),
]


def _filterset(organization, data):
    filterset = selectors.delivery_filterset(organization=organization, data=data)
    if not filterset.is_valid():
        errors = filterset.errors.get_json_data()
        raise ValidationError({field: [e["message"] for e in items] for field, items in errors.items()})
    return filterset


class DeliveryListView(WebhooksAPIView):
    response_links = {("GET", 200): _delivery_links(FIRST_ITEM_ID)}

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="Delivery history",
        description="Newest first, keyset-paginated. One row per event x endpoint, replays included.",
        tags=TAGS,
        parameters=DELIVERY_FILTER_PARAMS + CURSOR_PARAMS,
        responses={200: s.DeliveryListSerializer, **problem_responses("validation-error")},
    )
    def get(self, request):
        filterset = _filterset(self.organization, request.query_params)
        page = selectors.delivery_page(
            filterset=filterset,
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response({"data": s.DeliverySerializer(page.items, many=True).data, "nextCursor": page.next_cursor})


class DeliveryDetailView(WebhooksAPIView):
    @extend_schema(
        operation_id="webhooks_deliveries_retrieve",
        summary="A delivery with its attempts",
        tags=TAGS,
        responses={200: s.DeliveryDetailSerializer},
    )
    def get(self, request, delivery_id):
        delivery = access_delivery(organization=self.organization, delivery_id=delivery_id)
        attempts = selectors.delivery_attempts(delivery=delivery)
        return Response(s.DeliveryDetailSerializer(delivery, context={"attempts": attempts}).data)


class DeliveryReplayView(WebhooksAPIView):
    response_links = {("POST", 202): _delivery_links(BODY_ID)}

    @extend_schema(
        operation_id="webhooks_deliveries_replay",
        summary="Replay one delivery",
        description="A new delivery of the same event (same `webhook-id`) to the same endpoint, with its own "
        "retry schedule. Events older than 30 days: 409 `replay-window-expired`.",
        tags=TAGS,
        request=None,
        responses={
            202: s.DeliverySerializer,
            **problem_responses("replay-window-expired", "webhook-endpoint-disabled"),
        },
    )
    def post(self, request, delivery_id):
        delivery = access_delivery(organization=self.organization, delivery_id=delivery_id)
        replay = services.delivery_replay(actor=self.actor, delivery=delivery)
        replay.refresh_from_db()
        return Response(s.DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)


class ReplayListView(WebhooksAPIView):
    response_links = {("POST", 202): links_to("webhooks_replays_retrieve", replay_id=BODY_ID)}

    @extend_schema(
        operation_id="webhooks_replays_create",
        summary="Bulk replay by filter",
        description="Replays every delivery matching the filters (the same as GET /v1/webhooks/deliveries) in "
        "the 30-day window, without a cap. `dryRun: true` only counts (200). Otherwise a background job "
        "starts (202); follow it with GET /v1/webhooks/replays/{replayId}. Each event is replayed once per "
        "endpoint per job.",
        tags=TAGS,
        request=s.ReplayRequestSerializer,
        responses={
            200: s.ReplayDryRunSerializer,
            202: s.ReplayJobSerializer,
            **problem_responses("validation-error", "replay-window-expired"),
        },
    )
    def post(self, request):
        body = s.ReplayRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        dry_run = data.pop("dryRun")
        raw = {k: (rfc3339(v) if isinstance(v, datetime) else str(v)) for k, v in data.items()}
        filterset = _filterset(self.organization, raw)
        created_after = filterset.form.cleaned_data.get("createdAfter")
        if dry_run:
            count = services.replay_dry_run(queryset=filterset.qs, created_after=created_after)
            return Response({"dryRun": True, "count": count, "filters": filterset.active_filters})
        job = services.replay_job_create(
            actor=self.actor,
            organization=self.organization,
            filters=filterset.active_filters,
            queryset=filterset.qs,
            created_after=created_after,
        )
        job.refresh_from_db()
        return Response(s.ReplayJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ReplayDetailView(WebhooksAPIView):
    @extend_schema(
        operation_id="webhooks_replays_retrieve",
        summary="Bulk replay progress",
        tags=TAGS,
        responses={200: s.ReplayJobSerializer},
    )
    def get(self, request, replay_id):
        job = access_replay_job(organization=self.organization, replay_id=replay_id)
        return Response(s.ReplayJobSerializer(job).data)
