from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from portal.console import views as console_views
from portal.core import views as core_views
from portal.gateway.docs import OpenApiSchemaView
from portal.organizations.views import organization_logo
from portal.webhooks import views as webhook_views

v1 = [
    path("", include(("portal.clients.api.urls", "clients-api"))),
    path("webhooks/", include(("portal.webhooks.api.urls", "webhooks-api"))),
    path("", include(("portal.kyc.api.urls", "kyc-api"))),
    path("openapi.json", OpenApiSchemaView.as_view(), name="openapi"),
]

urlpatterns = [
    path("", console_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("operations/webhooks/", webhook_views.operations_page, name="webhook-operations"),
    path("problems/", console_views.problem_list, name="problem-list"),
    path("problems/<slug:slug>", console_views.problem_detail, name="problem-detail"),
    path("docs/api/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("docs/api/redoc/", SpectacularRedocView.as_view(url_name="openapi"), name="api-redoc"),
    path("docs/", console_views.docs_index, name="docs-index"),
    path("docs/audit-actions/", console_views.audit_action_list, name="audit-action-list"),
    path("docs/<slug:slug>/", console_views.docs_page, name="docs-page"),
    path("v1/", include(v1)),
    path("oauth/", include(("portal.gateway.urls", "oauth"))),
    path("accounts/", include(("portal.accounts.urls", "accounts"))),
    path("organizations/", include(("portal.console.organization_urls", "organizations"))),
    path("organizations/<uuid:organization_id>/clients/", include(("portal.clients.urls", "clients"))),
    path("organizations/<uuid:organization_id>/webhooks/", include(("portal.webhooks.urls", "webhooks"))),
    path("organizations/<uuid:organization_id>/kyc/", include(("portal.kyc.urls", "kyc"))),
    path("kyc/", include(("portal.kyc.public_urls", "kyc-public"))),
    # Organization logos brand buyer pages and e-mails; MEDIA_URL + "logos/…" (nothing else in media is public).
    path("media/logos/<str:name>", organization_logo, name="organization-logo"),
    path("admin/", admin.site.urls),
]

handler404 = "portal.core.errors.page_not_found"
handler500 = "portal.core.errors.server_error"
