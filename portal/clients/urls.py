from django.urls import path

from portal.clients import views

urlpatterns = [
    path("", views.client_list, name="list"),
    path("new", views.client_create, name="create"),
    path("<uuid:client_pk>/", views.client_detail, name="detail"),
    path("<uuid:client_pk>/rotate", views.client_rotate, name="rotate"),
    path("<uuid:client_pk>/end-overlap", views.client_overlap_end, name="overlap_end"),
    path("<uuid:client_pk>/secrets/<uuid:secret_pk>/revoke", views.client_secret_revoke, name="secret_revoke"),
    path("<uuid:client_pk>/revoke", views.client_revoke, name="revoke"),
    path("<uuid:client_pk>/pause", views.client_pause, name="pause"),
    path("<uuid:client_pk>/unpause", views.client_unpause, name="unpause"),
]
