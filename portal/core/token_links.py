"""Links whose path carries a secret (the buyer's KYC link, a member invitation): kept out of our logs and caches.

The one list of such routes; the log filter, the response headers (middleware.TokenLinkMiddleware) and
gunicorn's access log (portal/core/gunicorn_logging.py) read it. No Django import at module level, so
gunicorn can load it before Django is set up.
"""

import logging
import re

# The URL prefixes whose next path segment is a secret token (tests check the named routes still match).
TOKEN_LINK_PREFIXES = ("/kyc/i/", "/accounts/invitations/")
REDACTED = "[redacted]"

_TOKEN_SEGMENT = re.compile("(" + "|".join(re.escape(p) for p in TOKEN_LINK_PREFIXES) + r")[^/?#\s\"'<>]+")


def is_token_link(path: str) -> bool:
    return (path or "").startswith(TOKEN_LINK_PREFIXES)


def redact_token_links(text: str) -> str:
    """`/kyc/i/<token>/…` → `/kyc/i/[redacted]/…`, wherever such a path appears in the text."""
    if not text or not any(prefix in text for prefix in TOKEN_LINK_PREFIXES):
        return text
    return _TOKEN_SEGMENT.sub(r"\1" + REDACTED, text)


def _tokens_of(path: str) -> list[str]:
    return [match.group(0)[len(match.group(1)) :] for match in _TOKEN_SEGMENT.finditer(path or "")]


class RedactTokenLinksFilter(logging.Filter):
    """Rewrites a record's message (and its traceback text) so no token link, nor the bare token of the
    request being logged, reaches a handler. Installed on django.request, django.server and our handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        secrets = _tokens_of(path) if isinstance(path, str) else []
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the formatter to report
            return True
        redacted = self._redact(message, secrets)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info, secrets)
        return True

    @staticmethod
    def _redact(text: str, secrets: list[str]) -> str:
        text = redact_token_links(text)
        for secret in secrets:
            if len(secret) >= 8:  # a bare token of the logged request, e.g. in an exception's message
                text = text.replace(secret, REDACTED)
        return text
