from django.contrib import admin

from portal.kyc.models import Buyer, KycDocument, SelfServiceInvitation


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ("name", "vat_number", "partner", "organization", "kyc_level", "vies_result", "compliance_status")
    list_filter = ("kyc_level", "vies_result", "compliance_status")
    search_fields = ("name", "vat_number", "email")
    list_select_related = ("partner", "organization")
    # Changes go through the services (audit, events, version); the admin is for looking.
    readonly_fields = [f.name for f in Buyer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(KycDocument)
class KycDocumentAdmin(admin.ModelAdmin):
    list_display = ("filename", "type", "status", "source", "buyer", "created_at")
    list_filter = ("type", "status", "source")
    readonly_fields = [f.name for f in KycDocument._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SelfServiceInvitation)
class SelfServiceInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "buyer", "status", "expires_at", "send_count", "last_error")
    list_filter = ("status",)
    readonly_fields = [f.name for f in SelfServiceInvitation._meta.fields]
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
