"""Rename stored audit actions to the AuditAction catalog's `<entity>.<verb_past>` scheme."""

from django.db import migrations

RENAMES = {
    "kyc.buyer.created": "buyer.created",
    "kyc.buyer.updated": "buyer.updated",
    "kyc.level.upgraded": "buyer.kyc_level_upgraded",
    "kyc.vies.completed": "buyer.vies_checked",
    "kyc.document.uploaded": "kyc_document.uploaded",
    "kyc.document.archived": "kyc_document.archived",
    "kyc.document.downloaded": "kyc_document.downloaded",
    **{
        f"kyc.invitation.{verb}": f"self_service_invitation.{verb}"
        for verb in ("created", "resent", "revoked", "expired", "sent", "send_failed", "send_recovered", "opened")
        + ("completed",)
    },
    "client.secret.rotated": "client_secret.rotated",
    "client.secret.overlap_ended": "client_secret.overlap_ended",
    "client.secret.revoked": "client_secret.revoked",
    "client.secret.expired": "client_secret.expired",
    **{
        f"invitation.{verb}": f"member_invitation.{verb}"
        for verb in ("created", "resent", "revoked", "send_failed", "accepted")
    },
    "partner.authorized": "partner_authorization.created",
    "partner.authorization_revoked": "partner_authorization.revoked",
}


def _rename(mapping):
    def run(apps, schema_editor):
        AuditEntry = apps.get_model("core", "AuditEntry")
        for old, new in mapping.items():
            AuditEntry.objects.filter(action=old).update(action=new)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(_rename(RENAMES), _rename({new: old for old, new in RENAMES.items()})),
    ]
