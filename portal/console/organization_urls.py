"""The "organizations" URL namespace: the organizations app's pages plus the console's audit log pages.

Assembled here so the URL names stay (`organizations:audit`) while organizations imports no console code.
"""

from django.urls import path

from portal.console import views
from portal.organizations import urls as organizations_urls

org = "<uuid:organization_id>/"

urlpatterns = [
    *organizations_urls.urlpatterns,
    path("audit/", views.support_audit_page, name="audit_global"),
    path("audit/export.csv", views.support_audit_export, name="audit_global_export"),
    path(org + "audit/", views.audit_page, name="audit"),
    path(org + "audit/export.csv", views.audit_export, name="audit_export"),
]
