from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from portal.gateway.oauth import TokenView

urlpatterns = [
    path("token", csrf_exempt(TokenView.as_view()), name="token"),
]
