import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
django_application = get_wsgi_application()

from portal.core.chunked import ChunkedRequestBody  # noqa: E402  (needs the settings configured above)

# Chunked request bodies are read where the server ends the input (gunicorn), else refused with 411.
application = ChunkedRequestBody(django_application)
