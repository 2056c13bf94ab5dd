from django.urls import path

from portal.organizations import views

org = "<uuid:organization_id>/"

urlpatterns = [
    path("", views.organization_list_view, name="list"),
    path("new/", views.organization_create, name="create"),
    path(org, views.organization_detail, name="detail"),
    path(org + "edit/", views.organization_edit, name="edit"),
    path(org + "suspend/", views.organization_suspend, name="suspend"),
    path(org + "reactivate/", views.organization_reactivate, name="reactivate"),
    path(org + "dpa/", views.dpa_page, name="dpa"),
    path(org + "dpa/register/", views.dpa_register, name="dpa_register"),
    path(org + "dpa/<uuid:dpa_id>/revoke/", views.dpa_revoke, name="dpa_revoke"),
    path(org + "dpa/<uuid:dpa_id>/document/", views.dpa_document, name="dpa_document"),
    path(org + "partners/", views.partners_page, name="partners"),
    path(org + "partners/authorize/", views.partner_authorize, name="partner_authorize"),
    path(org + "partners/new/", views.partner_create, name="partner_create"),
    path(
        org + "partners/<uuid:authorization_id>/revoke/",
        views.partner_authorization_revoke,
        name="partner_authorization_revoke",
    ),
    path(org + "capabilities/", views.capabilities_page, name="capabilities"),
    path(org + "capabilities/<str:capability>/grant/", views.capability_grant, name="capability_grant"),
    path(org + "capabilities/<uuid:grant_id>/revoke/", views.capability_revoke, name="capability_revoke"),
    path(org + "members/", views.members_page, name="members"),
    path(org + "members/invite/", views.invitation_create, name="invitation_create"),
    path(org + "members/<uuid:membership_id>/role/", views.membership_role, name="membership_role"),
    path(org + "members/<uuid:membership_id>/remove/", views.membership_remove, name="membership_remove"),
    path(org + "invitations/<uuid:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path(org + "invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]
