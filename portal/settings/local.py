"""`make run`: a developer's machine, embedded defaults."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import env_bool

DEBUG = env_bool("DEBUG", True)
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", True)
