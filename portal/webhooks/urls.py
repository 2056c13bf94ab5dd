from django.urls import path

from portal.webhooks import views

urlpatterns = [
    path("", views.endpoint_list, name="endpoint_list"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path("event-types/", views.event_catalog, name="event_catalog"),
    path("endpoints/<uuid:endpoint_id>/", views.endpoint_detail, name="endpoint_detail"),
    path("endpoints/<uuid:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<uuid:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<uuid:endpoint_id>/enabled/", views.endpoint_toggle, name="endpoint_toggle"),
    path("endpoints/<uuid:endpoint_id>/reenable/", views.endpoint_reenable, name="endpoint_reenable"),
    path("endpoints/<uuid:endpoint_id>/secret/", views.endpoint_secret, name="endpoint_secret"),
    path("endpoints/<uuid:endpoint_id>/concurrency/", views.endpoint_concurrency, name="endpoint_concurrency"),
    path("endpoints/<uuid:endpoint_id>/rotate-secret/", views.endpoint_rotate, name="endpoint_rotate"),
    path("endpoints/<uuid:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path(
        "endpoints/<uuid:endpoint_id>/test/<uuid:delivery_id>/",
        views.endpoint_test_outcome,
        name="endpoint_test_outcome",
    ),
    path("deliveries/", views.delivery_list, name="delivery_list"),
    path("deliveries/<uuid:delivery_id>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<uuid:delivery_id>/replay/", views.delivery_replay, name="delivery_replay"),
    path("replays/new/", views.replay_create, name="replay_create"),
    path("replays/<uuid:replay_id>/", views.replay_detail, name="replay_detail"),
]
