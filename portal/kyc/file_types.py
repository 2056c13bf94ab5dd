"""What a KYC upload really is: the type sniffed from its first bytes, then its structure checked as that type.

No image or PDF library is needed: the checks walk the container formats themselves (PDF trailer and
cross-reference, JPEG marker segments, PNG chunks with their CRCs, ISO-BMFF boxes of HEIC), reading the
file in bounded pieces. They prove the file is what its header claims, not that a viewer will render
every page; a `%PDF-` header in front of HTML, a renamed text file or a truncated upload is refused.
"""

import re
import struct
import zlib

# The accepted types and the extension a stored file gets from its sniffed type (never from its name).
MEDIA_TYPE_EXTENSIONS: dict[str, str] = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
}
ACCEPTED_MEDIA_TYPES = tuple(MEDIA_TYPE_EXTENSIONS)
MEDIA_TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIC"}

HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_CHUNK = 1024 * 1024


class ContentMismatch(ValueError):
    """The file's content does not parse as the type its first bytes claim; the message says why."""


def sniff_media_type(head: bytes) -> str | None:
    """The media type from the file's first bytes: PDF, JPEG, PNG or HEIC; None for anything else."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    # ISO-BMFF: size(4) 'ftyp' brand(4); HEIC/HEIF brands.
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic"
    return None


def safe_extension(media_type: str) -> str:
    return MEDIA_TYPE_EXTENSIONS.get(media_type, ".bin")


def download_filename(filename: str, media_type: str) -> str:
    """The uploaded name with the sniffed type's extension, so a download never opens as another type."""
    stem = (filename or "").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return (stem.strip() or "document")[:200] + safe_extension(media_type)


def verify_content(stream, media_type: str, size: int) -> None:
    """Raise ContentMismatch unless the whole file parses as `media_type`; `stream` is seekable."""
    checks = {"application/pdf": _pdf, "image/jpeg": _jpeg, "image/png": _png, "image/heic": _heic}
    try:
        checks[media_type](stream, size)
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, ContentMismatch):
            raise
        raise ContentMismatch("its structure is damaged") from exc
    finally:
        stream.seek(0)


def _read_at(stream, offset: int, length: int) -> bytes:
    stream.seek(offset)
    return stream.read(length)


# PDF: header, %%EOF in the last KiB, startxref pointing at a cross-reference table or stream, a /Root.

_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_OBJECT_HEADER = re.compile(rb"\d+\s+\d+\s+obj\b")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "


def _pdf(stream, size: int) -> None:
    if not _PDF_HEADER.match(_read_at(stream, 0, 16)):
        raise ContentMismatch("it has no PDF version header")
    tail = _read_at(stream, max(0, size - 4096), 4096)
    if b"%%EOF" not in tail[-1024:]:
        raise ContentMismatch("it has no %%EOF marker at its end (truncated or not a PDF)")
    found = list(_STARTXREF.finditer(tail))
    if not found:
        raise ContentMismatch("it has no startxref before its %%EOF marker")
    last = found[-1]
    offset = int(last.group(1))
    if not 0 < offset < size:
        raise ContentMismatch("its startxref points outside the file")
    section = _read_at(stream, offset, 4096).lstrip(_PDF_WHITESPACE)
    if section.startswith(b"xref"):
        # A cross-reference table: its trailer dictionary (with the document catalog) precedes startxref.
        trailer = tail[: last.start()].rfind(b"trailer")
        if trailer < 0 or b"/Root" not in tail[trailer : last.start()]:
            raise ContentMismatch("its trailer names no document catalog (/Root)")
    elif _OBJECT_HEADER.match(section):
        # A cross-reference stream (PDF 1.5+): the stream's dictionary is the trailer.
        dictionary = section.split(b"stream", 1)[0]
        if b"/XRef" not in dictionary or b"/Root" not in dictionary:
            raise ContentMismatch("its startxref does not point at a cross-reference stream with a /Root")
    else:
        raise ContentMismatch("its startxref does not point at a cross-reference section")


# JPEG: SOI, marker segments up to a frame header and the start of scan, an EOI after the scan.

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(stream, size: int) -> None:
    stream.seek(2)
    frame = False
    position = 2
    for _ in range(10_000):
        byte = stream.read(1)
        if byte != b"\xff":
            raise ContentMismatch("its marker segments are damaged")
        marker = stream.read(1)
        while marker == b"\xff":  # fill bytes
            marker = stream.read(1)
        if not marker:
            raise ContentMismatch("it ends before its image data (truncated)")
        code = marker[0]
        if code == 0x01 or 0xD0 <= code <= 0xD7:
            continue
        if code in (0xD8, 0xD9):
            raise ContentMismatch("it has no image data")
        raw = stream.read(2)
        if len(raw) < 2:
            raise ContentMismatch("it ends inside a marker segment (truncated)")
        (length,) = struct.unpack(">H", raw)
        position = stream.tell()
        if length < 2 or position + length - 2 > size:
            raise ContentMismatch("a marker segment runs past the end of the file")
        if code in _SOF_MARKERS:
            header = stream.read(6)
            if len(header) < 6:
                raise ContentMismatch("its frame header is damaged")
            _precision, _height, width, components = struct.unpack(">BHHB", header)
            if width == 0 or components not in (1, 3, 4):
                raise ContentMismatch("its frame header is damaged")
            frame = True
        if code == 0xDA:
            if not frame:
                raise ContentMismatch("its image data comes before any frame header")
            stream.seek(position + length - 2)
            break
        stream.seek(position + length - 2)
    else:
        raise ContentMismatch("it has too many marker segments")
    # The entropy-coded data ends with an EOI marker (some cameras append data after it).
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            raise ContentMismatch("it has no end-of-image marker (truncated)")
        if b"\xff\xd9" in carry + chunk:
            return
        carry = chunk[-1:]


# PNG: signature, IHDR first, every chunk's CRC, at least one IDAT, IEND.


def _png(stream, size: int) -> None:
    stream.seek(8)
    first, image_data = True, False
    for _ in range(100_000):
        header = stream.read(8)
        if len(header) < 8:
            raise ContentMismatch("it ends before its IEND chunk (truncated)")
        length, kind = struct.unpack(">I4s", header)
        if not kind.isalpha() or stream.tell() + length + 4 > size:
            raise ContentMismatch("a chunk is damaged or runs past the end of the file")
        crc = zlib.crc32(kind)
        data = b""
        remaining = length
        while remaining:
            piece = stream.read(min(remaining, _CHUNK))
            if first:
                data += piece
            crc = zlib.crc32(piece, crc)
            remaining -= len(piece)
        (expected,) = struct.unpack(">I", stream.read(4))
        if crc != expected:
            raise ContentMismatch(f"its {kind.decode()} chunk fails its checksum")
        if first:
            if kind != b"IHDR" or length != 13:
                raise ContentMismatch("it does not start with an IHDR chunk")
            width, height, depth, color = struct.unpack(">IIBB", data[:10])
            if not width or not height or depth not in (1, 2, 4, 8, 16) or color not in (0, 2, 3, 4, 6):
                raise ContentMismatch("its IHDR chunk is damaged")
            first = False
        elif kind == b"IDAT":
            image_data = True
        elif kind == b"IEND":
            if not image_data:
                raise ContentMismatch("it has no image data (IDAT)")
            return
    raise ContentMismatch("it has too many chunks")


# HEIC (ISO-BMFF): boxes that tile the file exactly, ftyp first with a HEIF brand, a meta box.


def _heic(stream, size: int) -> None:
    position, kinds = 0, []
    while position < size:
        if len(kinds) >= 10_000:
            raise ContentMismatch("it has too many boxes")
        header = _read_at(stream, position, 16)
        if len(header) < 8:
            raise ContentMismatch("a box header is cut off (truncated)")
        box_size, kind = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1:
            if len(header) < 16:
                raise ContentMismatch("a box header is cut off (truncated)")
            (box_size,) = struct.unpack(">Q", header[8:16])
            header_size = 16
        elif box_size == 0:
            box_size = size - position  # the last box runs to the end of the file
        if box_size < header_size or position + box_size > size or not all(32 < c < 127 for c in kind):
            raise ContentMismatch("a box is damaged or runs past the end of the file")
        if not kinds:
            if kind != b"ftyp" or box_size > 4096:
                raise ContentMismatch("it does not start with a file-type box")
            brands = _read_at(stream, position + 8, box_size - 8)
            listed = {brands[i : i + 4] for i in range(0, len(brands), 4) if i != 4}
            if not listed & HEIF_BRANDS:
                raise ContentMismatch("its file-type box names no HEIF brand")
        kinds.append(kind)
        position += box_size
    if b"meta" not in kinds:
        raise ContentMismatch("it has no image metadata (meta box)")
