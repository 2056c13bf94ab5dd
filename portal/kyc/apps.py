from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "portal.kyc"
    label = "kyc"
    verbose_name = "Kyc"

    def ready(self):
        from portal.core.registry import OrgTab, register_tab

        register_tab(OrgTab("buyers", "Buyers", "kyc:buyer_list", order=90))
