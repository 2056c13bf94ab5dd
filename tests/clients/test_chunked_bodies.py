"""Chunked request bodies are read where the server ends the input, else 411 (issue #10 item 11).

A real gunicorn (it de-chunks and sets `wsgi.input_terminated`) receives a chunked token request, a
chunked JSON buyer POST and a chunked multipart upload; the WSGI application without
`wsgi.input_terminated` (runserver, wsgiref) answers 411 length-required instead of an empty body."""

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from base64 import b64encode
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.db import connection

from portal.clients.services import client_create
from portal.core.audit import Actor
from portal.kyc.models import Buyer, KycDocument
from tests.kyc.conftest import PDF_BYTES, valid_vat_numbers

ROOT = Path(__file__).resolve().parents[2]


def _wsgi_call(environ):
    from portal.wsgi import application

    return _call(application, environ)


def _call(application, environ):
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    return captured["status"], captured["headers"], body


def _environ(path, body: bytes, *, terminated: bool, content_type="application/x-www-form-urlencoded", **extra):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    setup_testing_defaults(environ)
    environ.pop("CONTENT_LENGTH", None)
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


@pytest.mark.django_db
def test_chunked_body_without_a_terminated_input_is_411_problem():
    status, headers, body = _wsgi_call(
        _environ("/oauth/token", b"grant_type=client_credentials", terminated=False, HTTP_HOST="testserver")
    )
    assert status.startswith("411 ")
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"].endswith("/problems/length-required") and problem["status"] == 411
    assert problem["instance"] == "/oauth/token"


def test_chunked_body_on_a_terminated_input_is_handed_on_with_its_length():
    from portal.core.chunked import ChunkedRequestBody

    seen = {}

    def app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("204 No Content", [])
        return [b""]

    body = b"grant_type=client_credentials&" + b"x" * 200_000  # more than one read, spooled to disk
    status, _, _ = _call(ChunkedRequestBody(app), _environ("/oauth/token", body, terminated=True))
    assert status.startswith("204 ")
    assert seen == {"length": str(len(body)), "body": body}


def test_requests_with_a_content_length_pass_untouched():
    from portal.core.chunked import ChunkedRequestBody

    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        start_response("204 No Content", [])
        return [b""]

    environ = _environ("/v1/me", b"{}", terminated=False)
    environ.pop("HTTP_TRANSFER_ENCODING")
    environ["CONTENT_LENGTH"] = "2"
    original = environ["wsgi.input"]
    assert _call(ChunkedRequestBody(app), environ)[0].startswith("204 ")
    assert seen["input"] is original


@pytest.mark.django_db
def test_chunked_body_over_the_limit_is_413(settings):
    settings.CHUNKED_REQUEST_MAX_BYTES = 1024
    status, _headers, body = _wsgi_call(_environ("/oauth/token", b"x" * 2048, terminated=True, HTTP_HOST="testserver"))
    assert status.startswith("413 ")
    assert json.loads(body)["type"].endswith("/problems/payload-too-large")


# ---------------------------------------------------------------------------------------------- gunicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the gunicorn subprocess shares the test database: PostgreSQL only")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "/dev/null",
            "--config",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("gunicorn did not start: " + (proc.stderr.read() if proc.stderr else "")) from exc
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def _chunked(port, method, path, body: bytes, headers: dict):
    """Send `body` as two chunks with no Content-Length, as the generated Java client does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    half = len(body) // 2
    conn.request(method, path, body=iter([body[:half], body[half:]]), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def test_gunicorn_reads_chunked_token_json_and_multipart_requests(gunicorn, organization, partner):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="Java")
    basic = "Basic " + b64encode(f"{client.client_id}:{issued.plaintext}".encode()).decode()
    status, _headers, data = _chunked(
        gunicorn,
        "POST",
        "/oauth/token",
        b"grant_type=client_credentials",
        {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"},
    )
    assert status == 200, data
    token = json.loads(data)["access_token"]

    bearer = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
    vat = valid_vat_numbers(1)[0]
    payload = json.dumps({"vatNumber": vat, "name": "Chunked GmbH", "email": "c@example.com"}).encode()
    status, _, data = _chunked(
        gunicorn,
        "POST",
        f"/v1/partners/{partner.pk}/buyers",
        payload,
        {**bearer, "Content-Type": "application/json"},
    )
    assert status == 201, data
    buyer = json.loads(data)
    assert buyer["vatNumber"] == vat and buyer["name"] == "Chunked GmbH"
    assert Buyer.objects.filter(pk=buyer["id"]).exists()

    boundary = uuid.uuid4().hex
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nTRADE_REGISTER_EXTRACT\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, data = _chunked(
        gunicorn,
        "POST",
        f"/v1/partners/{partner.pk}/buyers/{buyer['id']}/kyc/documents",
        multipart,
        {**bearer, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 201, data
    assert KycDocument.objects.filter(buyer_id=buyer["id"]).count() == 1
