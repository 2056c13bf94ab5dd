"""Keyset ("cursor") pagination shared by the API and the pages: stays fast at millions of rows."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class KeysetPage:
    items: list[Any]
    next_cursor: str | None


def _encode(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationError({"cursor": ["Invalid cursor."]})
    return values


def parse_limit(raw: str | None, *, default: int = DEFAULT_LIMIT) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"limit": ["Must be an integer between 1 and 200."]}) from exc
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError({"limit": ["Must be an integer between 1 and 200."]})
    return value


def keyset_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    limit: int = DEFAULT_LIMIT,
    ordering: tuple[str, str] = ("-created_at", "-id"),
) -> KeysetPage:
    """Order by two fields, both descending or both ascending; the second must be unique."""
    first, second = ordering
    descending = first.startswith("-")
    if descending != second.startswith("-"):
        raise ValueError("keyset ordering fields must share a direction")
    f1, f2 = first.lstrip("-"), second.lstrip("-")
    qs = queryset.order_by(first, second)
    if cursor:
        values = _decode(cursor)
        if len(values) != 2:
            raise ValidationError({"cursor": ["Invalid cursor."]})
        v1, v2 = values
        op = "lt" if descending else "gt"
        try:
            # The redundant `f1 <= v1` bound lets the database seek the composite index instead of
            # filtering every row before the cursor (the OR alone is not an index condition).
            bound = "lte" if descending else "gte"
            qs = qs.filter(Q(**{f"{f1}__{bound}": v1}), Q(**{f"{f1}__{op}": v1}) | Q(**{f1: v1, f"{f2}__{op}": v2}))
            items = list(qs[: limit + 1])
        except (ValueError, TypeError, ValidationError) as exc:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
    else:
        items = list(qs[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = _encode([getattr(last, f1), getattr(last, f2)])
    return KeysetPage(items=items, next_cursor=next_cursor)
