from django.urls import path

from portal.clients.api import views

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("partners", views.PartnerListView.as_view(), name="partner-list"),
]
