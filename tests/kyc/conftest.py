import io
import struct
import zlib

import pytest
import responses
from django.conf import settings
from stdnum.eu import vat as eu_vat

from portal.core.audit import Actor
from portal.kyc import services
from portal.webhooks.models import WebhookEvent


def pdf_bytes(*, padding: int = 0) -> bytes:
    """A small valid one-page PDF (catalog, pages, xref table, trailer); `padding` bytes of comment make it bigger."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    if padding:
        out += b"%" + b"0" * max(padding - 2, 0) + b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A valid 8-bit greyscale PNG (IHDR, IDAT, IEND, with their CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# A real 2x2 baseline JPEG (JFIF, quantization and Huffman tables, frame, scan, EOI).
JPEG_BYTES = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d"
    "1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080002000201011100ffc4"
    "001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d"
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435"
    "363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798"
    "999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4"
    "f5f6f7f8f9faffda0008010100003f002bffd9"
)
# A HEIF container: ftyp (heic, mif1) and a meta box, the boxes tiling the file.
HEIC_BYTES = (
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    + b"\x00\x00\x00\x20meta\x00\x00\x00\x00"
    + b"\x00\x00\x00\x14hdlr\x00\x00\x00\x00\x00\x00\x00\x00pict"
    + b"\x00\x00\x00\x10mdat"
    + b"\x00" * 8
)
PDF_BYTES = pdf_bytes()
PNG_BYTES = png_bytes()


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


def file_of(size: int) -> io.BytesIO:
    """A valid PDF of exactly `size` bytes."""
    padding = size - len(PDF_BYTES)
    content = pdf_bytes(padding=padding)
    content = pdf_bytes(padding=padding - (len(content) - size))  # the offsets grew a digit or two
    assert len(content) == size
    return io.BytesIO(content)
