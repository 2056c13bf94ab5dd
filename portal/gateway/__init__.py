"""The /v1 platform every domain API builds on: IntegrationAPIView, authentication, caller cache, rate limit,
idempotency, the OAuth token endpoint and the OpenAPI schema class."""
