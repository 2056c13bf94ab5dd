"""Fixtures only the webhooks tests need: a real local receiver and endpoints pointing at it."""

import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.core.audit import Actor
from portal.webhooks import ssrf
from portal.webhooks.services import endpoint_create


class Receiver:
    """An http.server on 127.0.0.1 in a thread: records every request and answers from a script."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: deque = deque()
        self.default = (200, {}, b"ok")
        self.on_request = None
        self.drop = False  # close each connection without an answer (a connection failure for the client)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                if receiver.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if receiver.on_request is not None:
                    receiver.on_request(self)
                status, headers, payload = receiver.script.popleft() if receiver.script else receiver.default
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def respond(self, *responses):
        """Queue (status, headers, body) answers; afterwards the default (200) applies."""
        for r in responses:
            status, headers, body = (r, {}, b"") if isinstance(r, int) else r
            self.script.append((status, headers, body if isinstance(body, bytes) else json.dumps(body).encode()))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a hung receiver behind a dropping firewall."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)  # held open, never read from, never answered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
    ssrf.checked_addresses.clear()


@pytest.fixture
def make_endpoint(organization):
    def _make(url, subscriptions=("kyc.*",), organization_=None, **kwargs):
        return endpoint_create(
            actor=Actor.system(),
            organization=organization_ or organization,
            url=url,
            subscriptions=list(subscriptions),
            **kwargs,
        )

    return _make


@pytest.fixture
def endpoint(make_endpoint, receiver):
    return make_endpoint(receiver.url, subscriptions=["kyc.*", "compliance.*"])
