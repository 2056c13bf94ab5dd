"""Credential formats: recognizable prefixes plus a CRC32 checksum so leaked secrets can be scanned for."""

import hmac
import secrets
import string
import zlib

_ALPHABET = string.digits + string.ascii_letters

CLIENT_ID_PREFIX = "nt24_ci_"
CLIENT_SECRET_PREFIX = "nt24_sk_"
ACCESS_TOKEN_PREFIX = "nt24_at_"


def _base62(number: int, width: int) -> str:
    out = []
    while number:
        number, rem = divmod(number, 62)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out)).rjust(width, "0")


def _with_checksum(prefix: str, nbytes: int) -> str:
    body = _base62(int.from_bytes(secrets.token_bytes(nbytes), "big"), (nbytes * 8 + 5) // 6)
    checksum = _base62(zlib.crc32(f"{prefix}{body}".encode()), 6)
    return f"{prefix}{body}{checksum}"


def has_valid_checksum(value: str, prefix: str) -> bool:
    """Cheap offline check used by secret scanners and to reject typos before any lookup."""
    if not value.startswith(prefix) or len(value) < len(prefix) + 7:
        return False
    body, checksum = value[len(prefix) : -6], value[-6:]
    return hmac.compare_digest(_base62(zlib.crc32(f"{prefix}{body}".encode()), 6), checksum)


def new_client_id() -> str:
    return f"{CLIENT_ID_PREFIX}{secrets.token_hex(10)}"


def new_client_secret() -> str:
    return _with_checksum(CLIENT_SECRET_PREFIX, 32)


def new_access_token() -> str:
    return _with_checksum(ACCESS_TOKEN_PREFIX, 32)
