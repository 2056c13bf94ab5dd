from django.urls import path

from portal.kyc import public_views

urlpatterns = [
    path("i/<str:token>/", public_views.upload_page, name="upload"),
]
