import io

import pytest
import responses
from django.conf import settings
from stdnum.eu import vat as eu_vat

from portal.core.audit import Actor
from portal.kyc import services
from portal.webhooks.models import WebhookEvent

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def valid_vat_numbers(count: int, start: int = 100000000) -> list[str]:
    found, n = [], start
    while len(found) < count:
        n += 1
        if eu_vat.is_valid(f"DE{n}"):
            found.append(f"DE{n}")
    return found


@pytest.fixture
def vat_numbers():
    return valid_vat_numbers(12)


@pytest.fixture
def buyers_url(partner):
    return f"/v1/partners/{partner.pk}/buyers"


@pytest.fixture
def vies():
    """VIES faked at the transport; register answers with vies.add(...)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def vies_url():
    return f"{settings.VIES_BASE_URL}/check-vat-number"


@pytest.fixture
def buyer(organization, partner, vat_numbers):
    buyer, _ = services.buyer_upsert(
        actor=Actor.system(),
        organization=organization,
        partner=partner,
        vat_number=vat_numbers[0],
        name="Autohandel Nord GmbH",
        email="buyer@example.com",
    )
    return buyer


def upload(content: bytes = PDF_BYTES, name: str = "extract.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def events(type_=None, **filters):
    qs = WebhookEvent.objects.order_by("created_at", "id")
    if type_:
        qs = qs.filter(type=type_)
    return list(qs.filter(**filters))


def file_of(size: int, head: bytes = PDF_BYTES) -> io.BytesIO:
    return io.BytesIO(head + b"0" * (size - len(head)))
