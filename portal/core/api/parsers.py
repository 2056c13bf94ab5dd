"""The /v1 body parsers: DRF's, plus the limits PostgreSQL and Python impose, as 400 malformed-request.

PostgreSQL refuses NUL (U+0000) in text, and nesting deep enough to exhaust Python's recursion limit
(3,000 levels fit in 6 KB) fails in the parser or in whatever walks the data next. Both are refused
here, before any view, serializer or idempotency fingerprint sees the body."""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL = "\x00"


def _max_depth() -> int:
    return settings.API_MAX_JSON_DEPTH


def json_body_check(data, *, max_depth: int | None = None) -> None:
    """Raise ParseError if `data` nests deeper than the limit or holds a NUL in any string or key.

    Iterative, so it cannot itself run out of stack."""
    limit = max_depth or _max_depth()
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                raise ParseError(f"JSON nests deeper than {limit} levels.")
            if isinstance(value, dict):
                for key, item in value.items():
                    if NUL in key:
                        raise ParseError("JSON strings must not contain NUL (\\u0000) characters.")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and NUL in value:
            raise ParseError("JSON strings must not contain NUL (\\u0000) characters.")


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSONParser with a nesting limit and no NUL characters; a RecursionError is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON nests deeper than {_max_depth()} levels.") from exc
        json_body_check(data)
        return data


def _form_check(data) -> None:
    for key, values in data.lists():
        if NUL in key or any(isinstance(v, str) and NUL in v for v in values):
            raise ParseError("Form fields must not contain NUL characters.")


class StrictFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _form_check(data)
        return data


class StrictMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _form_check(result.data)
        for name, files in result.files.lists():
            if NUL in name or any(NUL in (f.name or "") for f in files):
                raise ParseError("Form fields must not contain NUL characters.")
        return result
