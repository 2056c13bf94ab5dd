"""gunicorn settings for the container (read from the working directory by default)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 25
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak never takes the whole pool down at once.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file on tmpfs: a disk-backed /tmp can block workers under Docker's overlay file system.
SHM = "/dev/shm"  # noqa: S108 - tmpfs, private to the container
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", SHM if os.path.isdir(SHM) else None)
# Only the reverse proxy in front may set X-Forwarded-Proto; list its addresses or networks (or "*" on a private
# network). Django reads the same variable as its TRUSTED_PROXY_NETWORKS default, so both trust the same peers
# (X-Forwarded-For is read by portal.core.middleware.TrustedProxyMiddleware when TRUSTED_PROXY_COUNT > 0).
FORWARDED_ALLOW_IPS = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
forwarded_allow_ips = FORWARDED_ALLOW_IPS
accesslog = "-"
# The access log line with the token of /kyc/i/<token>/ and invitation links redacted (portal/core/token_links.py).
logger_class = "portal.core.gunicorn_logging.RedactingLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The runtime control socket is for interactive hosts; a container is managed by its orchestrator.
control_socket_disable = True
