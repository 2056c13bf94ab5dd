"""The one way a secret, access token or invitation token is stored: its SHA-256."""

import hashlib


def token_hash(value: str) -> str:
    # Secrets and tokens carry at least 128 bits of entropy, so one SHA-256 is enough (no slow KDF needed).
    return hashlib.sha256(value.encode()).hexdigest()
