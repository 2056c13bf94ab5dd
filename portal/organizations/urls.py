from django.urls import path

from portal.organizations import views

urlpatterns = [
    path("", views.organization_list, name="list"),
    path("<uuid:organization_id>/", views.organization_detail, name="detail"),
]
