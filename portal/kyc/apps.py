from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "portal.kyc"
    label = "kyc"
    verbose_name = "Kyc"
