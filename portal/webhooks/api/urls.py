from django.urls import path

from portal.webhooks.api import views

urlpatterns = [
    path("event-types", views.EventTypeListView.as_view(), name="event-types"),
    path("endpoints", views.EndpointListView.as_view(), name="endpoint-list"),
    path("endpoints/<uuid:endpoint_id>", views.EndpointDetailView.as_view(), name="endpoint-detail"),
    path("endpoints/<uuid:endpoint_id>/secret", views.EndpointSecretView.as_view(), name="endpoint-secret"),
    path(
        "endpoints/<uuid:endpoint_id>/rotate-secret",
        views.EndpointRotateSecretView.as_view(),
        name="endpoint-rotate-secret",
    ),
    path("endpoints/<uuid:endpoint_id>/test", views.EndpointTestView.as_view(), name="endpoint-test"),
    path("deliveries", views.DeliveryListView.as_view(), name="delivery-list"),
    path("deliveries/<uuid:delivery_id>", views.DeliveryDetailView.as_view(), name="delivery-detail"),
    path("deliveries/<uuid:delivery_id>/replay", views.DeliveryReplayView.as_view(), name="delivery-replay"),
    path("replays", views.ReplayListView.as_view(), name="replay-list"),
    path("replays/<uuid:replay_id>", views.ReplayDetailView.as_view(), name="replay-detail"),
]
