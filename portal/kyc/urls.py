from django.urls import path

from portal.kyc import views

buyer = "buyers/<uuid:buyer_id>/"

urlpatterns = [
    path("buyers/", views.buyer_list, name="buyer_list"),
    path("buyers/new", views.buyer_create, name="buyer_create"),
    path(buyer, views.buyer_detail, name="buyer_detail"),
    path(f"{buyer}vies", views.buyer_vies, name="buyer_vies"),
    path(f"{buyer}upgrade", views.buyer_upgrade, name="buyer_upgrade"),
    path(f"{buyer}invitations", views.buyer_invitations, name="buyer_invitations"),
    path(f"{buyer}invitations/send", views.invitation_send, name="invitation_send"),
    path(f"{buyer}invitations/<uuid:invitation_id>/resend", views.invitation_resend, name="invitation_resend"),
    path(f"{buyer}invitations/<uuid:invitation_id>/revoke", views.invitation_revoke, name="invitation_revoke"),
    path(f"{buyer}documents/<uuid:document_id>/archive", views.document_archive, name="document_archive"),
    path(f"{buyer}documents/<uuid:document_id>/download", views.document_download, name="document_download"),
]
