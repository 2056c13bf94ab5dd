from django.urls import path

from portal.kyc.api import views

buyer = "partners/<uuid:seller_id>/buyers/<uuid:buyer_id>"

urlpatterns = [
    path("partners/<uuid:seller_id>/buyers", views.BuyerCollectionView.as_view(), name="buyer-list"),
    path(buyer, views.BuyerDetailView.as_view(), name="buyer-detail"),
    path(f"{buyer}/compliance", views.BuyerComplianceView.as_view(), name="buyer-compliance"),
    path(f"{buyer}/kyc/documents", views.DocumentCollectionView.as_view(), name="document-list"),
    path(f"{buyer}/kyc/documents/<uuid:document_id>", views.DocumentDetailView.as_view(), name="document-detail"),
    path(f"{buyer}/kyc/self-service-invitations", views.InvitationCollectionView.as_view(), name="invitation-list"),
    path(
        f"{buyer}/kyc/self-service-invitations/<uuid:invitation_id>/resend",
        views.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        f"{buyer}/kyc/self-service-invitations/<uuid:invitation_id>/revoke",
        views.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
]
