"""gunicorn for bench/me_bench.py: sync workers as in production, no access log (the same for both URLs)."""

worker_class = "sync"
loglevel = "warning"
accesslog = None
errorlog = "-"
control_socket_disable = True
