"""KYC self-service end to end: an operator invites a buyer, the buyer uploads from the e-mailed link,
and the organization's webhook endpoint receives the signed `kyc.document.uploaded` delivery."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from playwright.sync_api import expect
from standardwebhooks import Webhook

from portal.core.audit import Actor
from portal.kyc import services
from portal.kyc.models import KycDocument
from portal.webhooks import ssrf
from portal.webhooks.services import endpoint_create
from tests.kyc.conftest import PDF_BYTES, valid_vat_numbers
from tests.webhooks.conftest import Receiver

LINK = re.compile(r"https?://[^\s]+?(/kyc/i/[A-Za-z0-9_\-]+/)")


class _FakeVies(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        answer = json.dumps({"countryCode": body.get("countryCode"), "valid": True, "userError": "VALID"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        return


@pytest.fixture
def fake_vies(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeVies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.VIES_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
    ssrf.checked_addresses.clear()


def test_operator_invites_and_buyer_uploads_from_the_link(
    page, login, shot, operator_user, organization, partner, fake_vies, receiver, tmp_path
):
    endpoint = endpoint_create(
        actor=Actor.system(), organization=organization, url=receiver.url, subscriptions=["kyc.document.uploaded"]
    )
    buyer, _ = services.buyer_upsert(
        actor=Actor.system(),
        organization=organization,
        partner=partner,
        vat_number=valid_vat_numbers(1, start=400000000)[0],
        name="Autohaus Süd GmbH",
        email="kyc@autohaus-sued.example",
    )
    login(operator_user, via_form=False)
    page.goto(f"/organizations/{organization.pk}/kyc/buyers/")
    expect(page.get_by_role("link", name="Autohaus Süd GmbH")).to_be_visible()
    shot("buyer-list")
    page.get_by_role("link", name="Autohaus Süd GmbH").click()
    expect(page.get_by_role("heading", name="Self-service invitations")).to_be_visible()
    # VIES answers through the local fake; the pending badge polls until the final result.
    expect(page.locator("#vies-status")).to_contain_text("Valid", timeout=15_000)

    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#invitation-rows")).to_contain_text("Sent")
    shot("invitation-sent")
    assert mail.outbox, "the invitation e-mail was not sent"
    message = mail.outbox[-1]
    assert message.to == ["kyc@autohaus-sued.example"]
    link_path = LINK.search(message.body).group(1)

    buyer_page = page.context.new_page()
    buyer_page.set_viewport_size({"width": 390, "height": 844})  # a phone
    buyer_page.goto(link_path)
    expect(buyer_page.get_by_role("heading", name="Laden Sie Ihre KYC-Dokumente hoch")).to_be_visible()
    pdf = tmp_path / "handelsregister.pdf"
    pdf.write_bytes(PDF_BYTES)
    buyer_page.get_by_label("Dokument", exact=True).select_option("TRADE_REGISTER_EXTRACT")
    buyer_page.get_by_label("Datei").set_input_files(str(pdf))
    buyer_page.get_by_role("button", name="Hochladen").click()
    expect(buyer_page.locator("#progress")).to_contain_text("handelsregister.pdf")
    expect(buyer_page.locator("#progress")).to_contain_text("Vielen Dank")
    buyer_page.screenshot(
        path=str(shot("operator-view-before-reload").parent / "buyer-upload-mobile.png"), full_page=True
    )
    document = KycDocument.objects.get(buyer=buyer)
    assert document.source == "SELF_SERVICE" and document.content_type == "application/pdf"

    # The invitation row updates live (OPENED), and the document shows on the buyer detail.
    expect(page.locator("#invitation-rows")).to_contain_text("Opened", timeout=15_000)
    page.reload()
    expect(page.locator("#documents")).to_contain_text("handelsregister.pdf")
    expect(page.locator("#rollup")).to_contain_text("Present")
    shot("buyer-detail-with-document")

    # The organization's endpoint received the upload event, signed per Standard Webhooks.
    deliveries = [r for r in receiver.requests if b'"kyc.document.uploaded"' in r["body"]]
    assert len(deliveries) == 1, receiver.requests
    delivered = deliveries[0]
    payload = Webhook(endpoint.secret).verify(delivered["body"], delivered["headers"])
    assert payload["type"] == "kyc.document.uploaded"
    assert payload["data"]["id"] == str(document.pk) and payload["data"]["source"] == "SELF_SERVICE"
    assert payload["data"]["version"] >= 2 and payload["partnerId"] == str(partner.pk)
