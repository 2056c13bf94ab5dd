"""A test-only URLconf: views that exercise every gateway rule (partner kwarg, capability, POST)."""

from django.urls import include, path
from rest_framework.response import Response

from portal.clients.api.gateway import IntegrationAPIView
from portal.core.problems import Problem

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


urlpatterns = [
    path("v1/partners/<uuid:seller_id>/things", PartnerScopedView.as_view()),
    path("v1/partners/<uuid:seller_id>/orders", MultiVinView.as_view()),
    path("v1/echo", EchoView.as_view()),
    path("", include("portal.urls")),
]
