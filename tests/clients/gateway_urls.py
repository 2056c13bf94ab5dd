"""A test-only URLconf: views that exercise every gateway rule (partner kwarg, capability, POST)."""

from django.http import Http404
from django.urls import include, path
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from portal.core.problems import Problem
from portal.gateway.views import IntegrationAPIView

EXECUTIONS: list[dict] = []


class PartnerScopedView(IntegrationAPIView):
    required_capability = "webhooks"

    def get(self, request, seller_id):
        return Response({"partner": str(self.partner.pk)})


class MultiVinView(IntegrationAPIView):
    required_capability = "allowMultiVinOrders"

    def get(self, request, seller_id):
        return Response({"ok": True})


class EchoView(IntegrationAPIView):
    """POST/PATCH that counts its executions, so idempotency tests can prove 'exactly once'."""

    def post(self, request):
        if request.data.get("fail") == "problem":
            raise Problem("validation-error", "bad", errors=[{"field": "fail", "message": "bad", "code": "invalid"}])
        if request.data.get("fail") == "crash":
            raise RuntimeError("boom")
        if request.data.get("sleep"):
            import time

            time.sleep(float(request.data["sleep"]))
        EXECUTIONS.append(dict(request.data))
        return Response({"n": len(EXECUTIONS), "echo": request.data}, status=201, headers={"Location": "/x/1"})

    def patch(self, request):
        EXECUTIONS.append(dict(request.data))
        return Response({"n": len(EXECUTIONS)})


class RaiseProblemView(IntegrationAPIView):
    """GET /v1/raise/<slug> raises that catalog problem, to check every entry's shape."""

    def get(self, request, slug):
        raise Problem(slug, f"detail for {slug}")


class _Address(serializers.Serializer):
    city = serializers.CharField()


class _Thing(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=1)
    address = _Address()
    tags = serializers.ListField(child=serializers.IntegerField())


class ErrorsView(IntegrationAPIView):
    """Real error paths: DRF validation, Http404, throttling, crashes, a JSON-only body."""

    parser_classes = [JSONParser]

    def get(self, request, kind):
        if kind == "404":
            raise Http404
        if kind == "throttled":
            raise drf_exceptions.Throttled(wait=7)
        if kind == "crash":
            raise RuntimeError("secret internals")
        if kind == "django-validation":
            from django.core.exceptions import ValidationError

            raise ValidationError({"email": ["Enter a valid e-mail address."]})
        return Response({"kind": kind})

    def post(self, request, kind):
        serializer = _Thing(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


urlpatterns = [
    path("v1/raise/<slug:slug>", RaiseProblemView.as_view()),
    path("v1/errors/<slug:kind>", ErrorsView.as_view()),
    path("v1/partners/<uuid:seller_id>/things", PartnerScopedView.as_view()),
    path("v1/partners/<uuid:seller_id>/orders", MultiVinView.as_view()),
    path("v1/echo", EchoView.as_view()),
    path("", include("portal.urls")),
]

handler404 = "portal.core.errors.page_not_found"
handler500 = "portal.core.errors.server_error"
