"""Settings and URLconf for bench/me_bench.py only: the portal as `make run` serves it, plus a bare view.

DJANGO_SETTINGS_MODULE=_me_site (with bench/ on the Python path) serves every portal URL and
`/bench/bare`, a plain Django JSON view behind the same middleware, as the baseline.
"""

from django.http import JsonResponse
from django.urls import include, path

from portal.settings.base import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "_me_site"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}


def bare(request):
    return JsonResponse({"organization": {"id": "bench", "name": "Bench"}, "client": {"status": "ACTIVE"}})


urlpatterns = [
    path("bench/bare", bare),
    path("", include("portal.urls")),
]
