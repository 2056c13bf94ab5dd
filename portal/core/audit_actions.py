"""The one catalog of audit actions: `<entity>.<verb_past>`, the entity being the model in snake case."""

from enum import StrEnum


class AuditAction(StrEnum):
    description: str

    def __new__(cls, value: str, description: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # accounts
    USER_CREATED = "user.created", "A person accepted a member invitation and got an account."
    USER_2FA_ENABLED = "user.2fa_enabled", "A user set up two-factor authentication."
    USER_2FA_REPLACED = "user.2fa_replaced", "A user replaced their two-factor device."
    USER_2FA_DISABLED = "user.2fa_disabled", "Two-factor authentication was removed from a user."
    USER_PASSWORD_CHANGED = "user.password_changed", "A user changed their password."
    USER_PASSWORD_RESET = "user.password_reset", "A user reset their password by e-mail link."
    # organizations
    ORGANIZATION_CREATED = "organization.created", "NT24 support created an integration organization."
    ORGANIZATION_UPDATED = "organization.updated", "The organization's profile (name, contact, branding) changed."
    ORGANIZATION_SUSPENDED = "organization.suspended", "The organization was suspended: its API calls are refused."
    ORGANIZATION_REACTIVATED = "organization.reactivated", "A suspended organization was reactivated."
    DPA_REGISTERED = "dpa.registered", "A data processing agreement was registered."
    DPA_SUPERSEDED = "dpa.superseded", "A data processing agreement was replaced by a newer one."
    DPA_REVOKED = "dpa.revoked", "A data processing agreement was revoked."
    PARTNER_CREATED = "partner.created", "A partner (seller) was created."
    PARTNER_AUTHORIZATION_CREATED = "partner_authorization.created", "The organization was authorized for a partner."
    PARTNER_AUTHORIZATION_REVOKED = "partner_authorization.revoked", "A partner authorization was revoked."
    CAPABILITY_GRANTED = "capability.granted", "A capability flag was granted to the organization."
    CAPABILITY_REVOKED = "capability.revoked", "A capability flag was revoked."
    MEMBERSHIP_CREATED = "membership.created", "A person became a member of the organization."
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "A member's role changed."
    MEMBERSHIP_REMOVED = "membership.removed", "A member was removed from the organization."
    MEMBER_INVITATION_CREATED = "member_invitation.created", "A person was invited to join the organization."
    MEMBER_INVITATION_RESENT = "member_invitation.resent", "A member invitation was sent again with a new link."
    MEMBER_INVITATION_REVOKED = "member_invitation.revoked", "A member invitation was revoked."
    MEMBER_INVITATION_SEND_FAILED = "member_invitation.send_failed", "A member invitation e-mail could not be sent."
    MEMBER_INVITATION_ACCEPTED = "member_invitation.accepted", "A member invitation was accepted."
    # clients
    CLIENT_CREATED = "client.created", "An API client was created."
    CLIENT_REVOKED = "client.revoked", "An API client was revoked; its tokens stop working."
    CLIENT_PAUSED = "client.paused", "An API client was paused (by a person or after a run of 429s)."
    CLIENT_PAUSE_ENDED = "client.pause_ended", "An API client's pause ran out."
    CLIENT_UNPAUSED = "client.unpaused", "An API client's pause was lifted early."
    CLIENT_TOKEN_LOCKED_OUT = "client.token_locked_out", "Too many failed token requests locked a client out."
    CLIENT_SECRET_ROTATED = "client_secret.rotated", "A client secret was rotated; the old one runs out."
    CLIENT_SECRET_OVERLAP_ENDED = "client_secret.overlap_ended", "A rotated secret's window was ended early."
    CLIENT_SECRET_REVOKED = "client_secret.revoked", "A client secret was revoked."
    CLIENT_SECRET_EXPIRED = "client_secret.expired", "A rotated secret reached its window end."
    # webhooks
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "A webhook endpoint was registered."
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated", "A webhook endpoint's URL, events or partners changed."
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "A webhook endpoint was deleted."
    WEBHOOK_ENDPOINT_SECRET_REVEALED = "webhook_endpoint.secret_revealed", "A webhook signing secret was shown."
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "A webhook signing secret was rotated."
    WEBHOOK_ENDPOINT_TEST_SENT = "webhook_endpoint.test_sent", "A test event was sent to a webhook endpoint."
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled", "A webhook endpoint was disabled after failing."
    WEBHOOK_ENDPOINT_REENABLED = "webhook_endpoint.reenabled", "A disabled webhook endpoint was enabled again."
    WEBHOOK_ENDPOINT_BREAKER_OPENED = "webhook_endpoint.breaker_opened", "Deliveries to an endpoint paused."
    WEBHOOK_ENDPOINT_BREAKER_HALF_OPENED = "webhook_endpoint.breaker_half_opened", "An endpoint is being probed."
    WEBHOOK_ENDPOINT_BREAKER_CLOSED = "webhook_endpoint.breaker_closed", "Deliveries to an endpoint resumed."
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery.replayed", "One webhook delivery was queued again."
    WEBHOOK_REPLAY_CREATED = "webhook_replay.created", "A bulk replay of webhook deliveries was started."
    # kyc
    BUYER_CREATED = "buyer.created", "A buyer was created."
    BUYER_UPDATED = "buyer.updated", "A buyer's name, e-mail, VAT number or KYC level changed."
    BUYER_KYC_LEVEL_UPGRADED = "buyer.kyc_level_upgraded", "A buyer's KYC level was raised."
    BUYER_VIES_CHECKED = "buyer.vies_checked", "A VIES check of a buyer's VAT number finished."
    KYC_DOCUMENT_UPLOADED = "kyc_document.uploaded", "A KYC document was uploaded."
    KYC_DOCUMENT_ARCHIVED = "kyc_document.archived", "A KYC document was archived."
    KYC_DOCUMENT_DOWNLOADED = "kyc_document.downloaded", "A KYC document was downloaded from the portal."
    SELF_SERVICE_INVITATION_CREATED = "self_service_invitation.created", "A buyer was invited to upload documents."
    SELF_SERVICE_INVITATION_RESENT = "self_service_invitation.resent", "A self-service link was sent again."
    SELF_SERVICE_INVITATION_REVOKED = "self_service_invitation.revoked", "A self-service link was revoked."
    SELF_SERVICE_INVITATION_EXPIRED = "self_service_invitation.expired", "A self-service link ran out."
    SELF_SERVICE_INVITATION_SENT = "self_service_invitation.sent", "A self-service invitation e-mail was sent."
    SELF_SERVICE_INVITATION_SEND_FAILED = (
        "self_service_invitation.send_failed",
        "A self-service invitation e-mail could not be sent.",
    )
    SELF_SERVICE_INVITATION_SEND_RECOVERED = (
        "self_service_invitation.send_recovered",
        "A self-service invitation e-mail was sent after earlier failures.",
    )
    SELF_SERVICE_INVITATION_OPENED = "self_service_invitation.opened", "A buyer opened their self-service link."
    SELF_SERVICE_INVITATION_COMPLETED = "self_service_invitation.completed", "A buyer uploaded all documents."
