"""URLconf for bench/me_bench.py: the portal's URLs plus `/bench/bare`, the baseline view."""

from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    return JsonResponse({"organization": {"id": "bench", "name": "Bench"}, "client": {"status": "ACTIVE"}})


urlpatterns = [
    path("bench/bare", bare),
    path("", include("portal.urls")),
]
