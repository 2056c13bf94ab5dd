"""The self-service invitation e-mail: HTML + text, branded, in the invitation's language."""

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from portal.kyc.policy import REQUIRED_DOCUMENTS

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND_COLOR = "#1f4fd1"


def brand_color(organization) -> str:
    """Only a plain #rrggbb value ever reaches a style attribute or <style> block."""
    value = organization.brand_color or ""
    return value if _HEX.match(value) else DEFAULT_BRAND_COLOR


def brand_logo_url(organization) -> str:
    if not organization.logo:
        return ""
    try:
        url = organization.logo.url
    except ValueError:
        return ""
    return url if url.startswith("http") else f"{settings.PORTAL_BASE_URL}{url}"


def invitation_link(token: str) -> str:
    return settings.PORTAL_BASE_URL + reverse("kyc-public:upload", kwargs={"token": token})


def invitation_email_message(*, invitation, token: str) -> EmailMultiAlternatives:
    buyer = invitation.buyer
    language = invitation.locale or settings.LANGUAGE_CODE
    with translation.override(language):
        from portal.kyc.models import DocumentType

        context = {
            "invitation": invitation,
            "buyer": buyer,
            "partner_name": buyer.partner.legal_name,
            "organization": invitation.organization,
            "brand_color": brand_color(invitation.organization),
            "logo_url": brand_logo_url(invitation.organization),
            "link": invitation_link(token),
            "required_documents": [DocumentType(t).label for t in REQUIRED_DOCUMENTS[buyer.kyc_level]],
            "expires_at": invitation.expires_at,
            "LANGUAGE_CODE": language,
        }
        subject = gettext("%(partner)s asks you to upload your KYC documents") % {"partner": buyer.partner.legal_name}
        text = render_to_string("kyc/email/invitation.txt", context)
        html = render_to_string("kyc/email/invitation.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    return message
