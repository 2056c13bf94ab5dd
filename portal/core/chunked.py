"""Chunked request bodies (`Transfer-Encoding: chunked`, no Content-Length), which Django reads as empty.

Django's WSGIRequest takes CONTENT_LENGTH (absent: 0) as the body's length, so a chunked token request or
JSON POST arrives empty and is answered as if nothing was sent. Where the server has de-chunked the input
and will end it at the body's end (gunicorn sets `wsgi.input_terminated`), the body is read here, up to
CHUNKED_REQUEST_MAX_BYTES, and handed on with its length. Where it has not (runserver, wsgiref), the body
cannot be read safely: 411 Length Required, never a request acted on as if it had no body."""

import json
import tempfile

from django.conf import settings

from portal.core.errors import API_PREFIXES

READ_CHUNK = 64 * 1024


def _is_chunked(environ) -> bool:
    codings = [c.strip().lower() for c in environ.get("HTTP_TRANSFER_ENCODING", "").split(",")]
    return "chunked" in codings and not environ.get("CONTENT_LENGTH")


def _max_bytes() -> int:
    return settings.CHUNKED_REQUEST_MAX_BYTES


def _refuse(environ, start_response, slug: str, detail: str):
    from portal.core.api.exceptions import PROBLEM_CONTENT_TYPE, problem_body
    from portal.core.problems import PROBLEMS_BY_SLUG

    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    status = PROBLEMS_BY_SLUG[slug].status
    if path.startswith(API_PREFIXES):
        body = json.dumps(problem_body(slug, detail=detail, instance=path)).encode()
        content_type = PROBLEM_CONTENT_TYPE
    else:
        body, content_type = (detail + "\n").encode(), "text/plain; charset=utf-8"
    reason = {411: "Length Required", 413: "Content Too Large"}[status]
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class ChunkedRequestBody:
    """WSGI wrapper: give Django a chunked body with its length, or refuse it (411/413 problem+json)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if not _is_chunked(environ):
            return self.application(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _refuse(
                environ,
                start_response,
                "length-required",
                "This server cannot read a chunked request body: send it with a Content-Length header.",
            )
        limit = _max_bytes()
        # Lives as long as the request (Django reads it lazily); closed when the environ goes.
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
        stream, size = environ["wsgi.input"], 0
        while True:
            chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                body.close()
                return _refuse(
                    environ,
                    start_response,
                    "payload-too-large",
                    f"The request body is larger than the server accepts ({limit} bytes).",
                )
            body.write(chunk)
        body.seek(0)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        return self.application(environ, start_response)
