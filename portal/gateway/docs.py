"""GET /v1/openapi.json: always JSON, generated once per process, with this server first in `servers`.

Putting the requesting origin first makes Swagger UI's "Try it out" and its OAuth 2.0 token call
same-origin (our CSP allows `connect-src 'self'` only) wherever the portal is served.
"""

import copy
import threading

from django.conf import settings
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_cache: dict[tuple, dict] = {}
_lock = threading.Lock()


class OpenApiSchemaView(SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def _get_schema_response(self, request):
        key = (settings.ROOT_URLCONF, settings.PORTAL_BASE_URL)
        schema = _cache.get(key)
        if schema is None:
            with _lock:
                schema = _cache.get(key)
                if schema is None:
                    generator = self.generator_class(urlconf=self.urlconf, api_version=None, patterns=self.patterns)
                    schema = generator.get_schema(request=None, public=self.serve_public)
                    _cache[key] = schema
        schema = copy.copy(schema)
        here = request.build_absolute_uri("/").rstrip("/")
        servers = [{"url": here, "description": "This server"}]
        if here != settings.PORTAL_BASE_URL:
            servers.append({"url": settings.PORTAL_BASE_URL, "description": "NT24 Integration Portal"})
        schema["servers"] = servers
        return Response(data=schema, headers={"Content-Disposition": 'inline; filename="openapi.json"'})
