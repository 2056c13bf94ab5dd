"""Settings for bench/me_bench.py only: the portal as `make run` serves it, plus a bare JSON view.

DJANGO_SETTINGS_MODULE=_me_site (with bench/ on the Python path) serves every portal URL and
`/bench/bare` (bench/_me_urls.py), a plain Django JSON view behind the same middleware, as the baseline.
"""

from portal.settings.base import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "_me_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
