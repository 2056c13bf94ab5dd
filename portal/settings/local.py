"""`make run`: a developer's machine, embedded defaults."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import env_bool, env_list

DEBUG = env_bool("DEBUG", True)
# A webhook receiver on this machine (the quickstart's, a tunnel) is a valid target during development.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", True)
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
