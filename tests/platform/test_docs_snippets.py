"""The quickstart's snippets, run as an integrator would run them, against a live portal.

Python: the snippets are one session, executed in order in one namespace. Node.js and Java: each
snippet is written to a file and run with `node` / `java` (single-file source launch) when the
runtime is on the machine (.ci/run installs Java; Node.js comes with the machine image).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import responses
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from portal.clients.services import client_create
from portal.core.audit import Actor
from portal.kyc.models import Buyer

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"
SNIPPET = re.compile(r"<!-- snippet: (?P<name>[\w/-]+) -->\s*```(?P<lang>\w+)\n(?P<code>.*?)```", re.DOTALL)


def snippets() -> dict[str, str]:
    found = {m["name"]: m["code"] for m in SNIPPET.finditer(QUICKSTART.read_text())}
    assert found, "no snippet markers in docs/quickstart.md"
    return found


def test_every_code_block_of_the_quickstart_is_a_tested_snippet():
    text = QUICKSTART.read_text()
    fenced = re.findall(r"```(\w+)\n", text)
    runnable = [lang for lang in fenced if lang in {"python", "javascript", "java"}]
    assert len(runnable) == len(snippets()), "a python/javascript/java block without a <!-- snippet: … --> marker"
    assert set(snippets()) == {
        "python/token",
        "python/me",
        "python/buyer",
        "python/endpoint",
        "python/receiver",
        "python/test-event",
        "node/token-and-me",
        "node/verify",
        "java/token-and-me",
        "java/verify",
    }


@pytest.fixture
def credentials(organization, live_server, monkeypatch):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="Quickstart DMS")
    monkeypatch.setenv("NT24_BASE_URL", live_server.url)
    monkeypatch.setenv("NT24_CLIENT_ID", client.client_id)
    monkeypatch.setenv("NT24_CLIENT_SECRET", issued.plaintext)
    return {
        "NT24_BASE_URL": live_server.url,
        "NT24_CLIENT_ID": client.client_id,
        "NT24_CLIENT_SECRET": issued.plaintext,
    }


@pytest.fixture
def fake_vies():
    """VIES answers at the transport; everything on this machine (the live server, the receiver) passes."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)[:/]"))
        mock.post(f"{settings.VIES_BASE_URL}/check-vat-number", json={"valid": True, "requestIdentifier": "WAPI1"})
        yield mock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(name: str, namespace: dict) -> dict:
    exec(compile(snippets()[name], f"docs/quickstart.md:{name}", "exec"), namespace)
    return namespace


def test_python_quickstart_token_me_and_buyer(credentials, organization, partner, fake_vies):
    session = {"__name__": "quickstart"}
    run("python/token", session)
    assert session["token"]["token_type"] == "Bearer"

    run("python/me", session)
    assert session["me"]["organization"]["id"] == str(organization.pk)
    assert session["me"]["dpa"]["status"] == "ACCEPTED"
    assert session["seller_id"] == str(partner.pk)

    run("python/buyer", session)
    created = session["buyer"]
    assert session["response"].status_code == 201
    assert created["vatNumber"] == "DE136695976"
    assert Buyer.objects.filter(pk=created["id"], partner=partner).exists()

    run("python/buyer", session)  # the same call again: the same buyer, not a second one
    assert session["response"].status_code == 200
    assert session["buyer"]["id"] == created["id"]


def test_python_quickstart_webhook_endpoint_receiver_and_test_event(credentials, organization, monkeypatch, fake_vies):
    port = _free_port()
    monkeypatch.setenv("NT24_RECEIVER_URL", f"http://127.0.0.1:{port}/nt24")
    session = {"__name__": "quickstart"}
    for name in ("python/token", "python/me", "python/buyer", "python/endpoint"):
        run(name, session)
    assert session["signing_secret"].startswith("whsec_")

    # The receiver is its own program, started with the secret the previous step printed.
    monkeypatch.setenv("NT24_WEBHOOK_SECRET", session["signing_secret"])
    receiver = run("python/receiver", {"__name__": "receiver"})
    received: list[dict] = []
    receiver["handle"] = received.append
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver["WebhookReceiver"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run("python/test-event", session)
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
    assert [event["type"] for event in received] == ["webhook.test"]
    assert received[0]["organizationId"] == str(organization.pk)


def _signed(secret: str, body: str, *, webhook_id: str = "msg_quickstart") -> dict:
    now = datetime.now(tz=UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=webhook_id, timestamp=now, data=body),
    }


def _verification_cases() -> list[tuple[str, dict, str, bool]]:
    secret, old_secret = (
        "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + "c2VjcmV0LW9mLXRoZS1wcmV2aW91cy1rZXk=",
    )
    body = json.dumps({"id": "msg_quickstart", "type": "webhook.test", "data": {"version": 1}})
    headers = _signed(secret, body)
    both = {
        **headers,
        "webhook-signature": _signed(old_secret, body)["webhook-signature"] + " " + headers["webhook-signature"],
    }
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    return [
        ("valid", headers, body, True),
        ("rotation overlap: two signatures", both, body, True),
        ("tampered body", headers, body.replace("webhook.test", "buyer.created"), False),
        ("stale timestamp", stale, body, False),
        ("signed with another secret", _signed(old_secret, body), body, False),
    ], secret


if shutil.which("node"):

    def test_node_quickstart_token_and_me(credentials, organization, tmp_path):
        script = tmp_path / "quickstart.mjs"
        script.write_text(snippets()["node/token-and-me"])
        result = subprocess.run(
            ["node", str(script)], capture_output=True, text=True, timeout=60, env={**os.environ, **credentials}
        )
        assert result.returncode == 0, result.stderr
        assert organization.name in result.stdout and "ACCEPTED" in result.stdout

    def test_node_webhook_verification(tmp_path):
        (tmp_path / "verify.mjs").write_text(snippets()["node/verify"])
        (tmp_path / "check.mjs").write_text(
            'import { verifyWebhook } from "./verify.mjs";\n'
            "const cases = JSON.parse(process.env.CASES);\n"
            "for (const c of cases) {\n"
            "  try { verifyWebhook(process.env.SECRET, c.headers, c.body); console.log(`${c.name}: accepted`); }\n"
            "  catch (e) { console.log(`${c.name}: refused`); }\n"
            "}\n"
        )
        cases, secret = _verification_cases()
        payload = [{"name": n, "headers": h, "body": b} for n, h, b, _ in cases]
        result = subprocess.run(
            ["node", str(tmp_path / "check.mjs")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CASES": json.dumps(payload), "SECRET": secret},
        )
        assert result.returncode == 0, result.stderr
        for name, _, _, accepted in cases:
            assert f"{name}: {'accepted' if accepted else 'refused'}" in result.stdout


if shutil.which("java"):

    def test_java_quickstart_token_and_me(credentials, organization, tmp_path):
        source = tmp_path / "Quickstart.java"
        source.write_text(snippets()["java/token-and-me"])
        result = subprocess.run(
            ["java", str(source)], capture_output=True, text=True, timeout=120, env={**os.environ, **credentials}
        )
        assert result.returncode == 0, result.stderr
        assert str(organization.pk) in result.stdout and "ACCEPTED" in result.stdout

    def test_java_webhook_verification(tmp_path):
        snippet = snippets()["java/verify"]
        imports = [line for line in snippet.splitlines() if line.startswith("import ")]
        rest = "\n".join(line for line in snippet.splitlines() if not line.startswith("import "))
        cases, secret = _verification_cases()
        checks = "\n".join(
            f"        check({json.dumps(name)}, {json.dumps(h['webhook-id'])}, {json.dumps(h['webhook-timestamp'])}, "
            f"{json.dumps(h['webhook-signature'])}, {json.dumps(body)});"
            for name, h, body, _ in cases
        )
        # Single-file source launch runs the first class: the driver goes first, the snippet after it.
        source = tmp_path / "Check.java"
        source.write_text(
            "\n".join(imports)
            + "\n\nclass Check {\n"
            + f"    static final WebhookVerifier VERIFIER = new WebhookVerifier({json.dumps(secret)});\n"
            + "    static void check(String name, String id, String ts, String sig, String body) {\n"
            + '        try { VERIFIER.verify(id, ts, sig, body); System.out.println(name + ": accepted"); }\n'
            + '        catch (Exception e) { System.out.println(name + ": refused"); }\n'
            + "    }\n"
            + "    public static void main(String[] args) {\n"
            + checks
            + "\n    }\n}\n"
            + rest
        )
        result = subprocess.run(["java", str(source)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        for name, _, _, accepted in cases:
            assert f"{name}: {'accepted' if accepted else 'refused'}" in result.stdout
