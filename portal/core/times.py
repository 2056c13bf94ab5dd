"""The one way the API writes an instant: RFC 3339 in UTC with a `Z` (never a local offset, never a space)."""

from datetime import UTC, datetime


def rfc3339(value: datetime | None) -> str | None:
    """`2026-12-08T09:30:00.123456Z` for an aware datetime (converted to UTC), None for None.

    A naive datetime is taken to be UTC already (USE_TZ stores and returns UTC)."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"
