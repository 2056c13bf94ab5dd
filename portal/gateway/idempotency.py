"""Idempotency-Key for every /v1 POST and PATCH, scoped to the organization (Stripe semantics).

The first request with a key claims it by inserting a row (a unique constraint on organization+key
makes concurrent claims race safely in the database); it stores its response when it finishes.
A retry with the same key and the same method, path and body gets that response replayed with
`Idempotent-Replayed: true`; a different body is 422 `idempotency-key-reused`; a retry while the
first is still running is 409 `idempotency-request-in-progress`. Keys are kept 24 h.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from portal.clients.models import IdempotencyRecord
from portal.core.problems import Problem

HEADER = "Idempotency-Key"
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
RETENTION = timedelta(hours=24)
# A claim older than this is from a request that died mid-way: the key may be claimed again.
STALE_CLAIM_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location", "Content-Type", "ETag", "Last-Modified")


def parse_idempotency_key(raw: str | None) -> str | None:
    """The key from the header: a bare token or an RFC 8941 sf-string such as `"abc"`."""
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner, out, escaped = value[1:-1], [], False
        for char in inner:
            if escaped:
                if char not in '"\\':
                    raise _bad_key('An escaped character in a quoted Idempotency-Key must be `"` or `\\`.')
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                raise _bad_key("A quoted Idempotency-Key must escape inner quotes.")
            else:
                out.append(char)
        if escaped:
            raise _bad_key("A quoted Idempotency-Key ends with a lone backslash.")
        value = "".join(out)
    if not value:
        raise _bad_key("The Idempotency-Key header is empty.")
    if len(value) > MAX_KEY_LENGTH:
        raise _bad_key(f"The Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
    if not all(0x20 <= ord(char) <= 0x7E for char in value):
        raise _bad_key("The Idempotency-Key must be printable ASCII.")
    return value


def _bad_key(message: str) -> Problem:
    return Problem(
        "validation-error",
        f"{HEADER}: {message}",
        errors=[{"field": HEADER, "message": message, "code": "invalid"}],
    )


def _normalize(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict / MultiValueDict (form and multipart bodies)
        return {key: [_normalize(v) for v in values] for key, values in sorted(value.lists())}
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def request_fingerprint(request) -> str:
    """Method, path, query and the parsed body: key order, whitespace and multipart boundaries don't count."""
    payload = {
        "method": request.method,
        "path": request.path,
        "query": _normalize(request.query_params),
        "body": _normalize(request.data),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class IdempotentReplay(Exception):
    """Raised from the gateway to answer with the stored response instead of running the view."""

    def __init__(self, response: HttpResponse):
        self.response = response
        super().__init__("idempotent replay")


@dataclass
class IdempotencyClaim:
    record: IdempotencyRecord


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _mismatch(record: IdempotencyRecord, key: str, request) -> Problem:
    """Say what differs: another method, another path, or (same method and path) another body or query."""
    first = f"Idempotency-Key {key!r} was first used for {record.method} {record.path}"
    differs = [
        name
        for name, was, now in (("method", record.method, request.method), ("path", record.path, request.path[:1000]))
        if was != now
    ]
    if differs:
        detail = f"{first}; this request is {request.method} {request.path} (another {' and '.join(differs)})."
    else:
        differs = ["body"]
        detail = f"{first} with a different body or query string."
    return Problem("idempotency-key-reused", detail, differs=differs)


def _in_progress(key: str) -> Problem:
    return Problem(
        "idempotency-request-in-progress",
        f"A request with Idempotency-Key {key!r} is still being processed.",
        headers={"Retry-After": "1"},
    )


def idempotency_begin(*, request, organization, client, key: str) -> IdempotencyClaim:
    """Claim the key, or raise: IdempotentReplay (stored response), 422 (other body), 409 (in flight)."""
    fingerprint = request_fingerprint(request)
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                organization=organization,
                key=key,
                client=client,
                method=request.method,
                path=request.path[:1000],
                fingerprint=fingerprint,
                locked_at=now,
                created_at=now,
            )
        return IdempotencyClaim(record=record)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
    if record is None:  # purged between our insert and this read
        return idempotency_begin(request=request, organization=organization, client=client, key=key)
    if record.created_at <= now - RETENTION:
        # An expired key is a new key: take the row over atomically.
        taken = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
            client=client,
            method=request.method,
            path=request.path[:1000],
            fingerprint=fingerprint,
            state=IdempotencyRecord.State.IN_PROGRESS,
            locked_at=now,
            created_at=now,
            completed_at=None,
            response_status=None,
            response_headers={},
            response_body=b"",
        )
        if taken:
            record.refresh_from_db()
            return IdempotencyClaim(record=record)
        raise _in_progress(key)
    if record.fingerprint != fingerprint:
        raise _mismatch(record, key, request)
    if record.state == IdempotencyRecord.State.COMPLETED:
        raise IdempotentReplay(_replay(record))
    if record.locked_at <= now - STALE_CLAIM_AFTER:
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS, locked_at=record.locked_at
        ).update(locked_at=now, client=client)
        if taken:
            record.locked_at = now
            return IdempotencyClaim(record=record)
    raise _in_progress(key)


def idempotency_complete(*, claim: IdempotencyClaim, response) -> None:
    """Store the response (any status below 500); a 5xx releases the key so the client can retry."""
    record = claim.record
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    for name, value in response.items():
        if name.lower().startswith("x-nt24-") or name in ("Retry-After",):
            headers[name] = value
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        completed_at=timezone.now(),
        response_status=response.status_code,
        response_headers=headers,
        response_body=bytes(response.content) if not getattr(response, "streaming", False) else b"",
    )


def idempotency_release(*, claim: IdempotencyClaim) -> None:
    IdempotencyRecord.objects.filter(pk=claim.record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()


def idempotency_records_purge(*, now=None) -> int:
    """Delete keys older than the 24 h retention; returns how many went."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
