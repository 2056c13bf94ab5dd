"""Queue isolation drill: VIES hangs, webhooks still flow.

The workers run as a deployment runs them (portal/settings/queues.py): a webhooks worker and a background
worker. VIES is a local server that accepts every check and then answers one byte at a time, never
finishing until the drill releases it (each byte comes well inside the VIES timeout, so a check holds its
worker process for as long as the drill wants). With one pool for everything, the queued checks would take
every process and no webhook would go out until VIES answered.
"""

import socket
import threading

import pytest
from django.utils import timezone

from portal.kyc.models import Buyer
from portal.organizations.models import PartnerAuthorization
from portal.webhooks.models import WebhookDelivery
from tests.resilience.conftest import Cluster, wait_until

pytestmark = pytest.mark.resilience

EVENTS = 60
VIES_CHECKS = 3  # more than a worker's processes: one pool for everything would be taken whole


class StallingVies:
    """Accepts VIES checks, then dribbles the status line and a header until `release()`; then answers VALID."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.accepted = 0
        self.holding = 0  # requests read and not answered yet
        self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/vies"

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket):
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(body) < length:
                    body += conn.recv(65536)
                with self.lock:
                    self.holding += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Stall: ")
                while not self.released.wait(0.5):  # one byte every half second: never a read timeout
                    conn.sendall(b"z")
                answer = b'{"valid": true, "requestIdentifier": "drill"}'
                conn.sendall(
                    b"\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(answer)).encode()
                    + b"\r\nconnection: close\r\n\r\n"
                    + answer
                )
                with self.lock:
                    self.holding -= 1
                    self.answered += 1
            except OSError:
                return

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        self.listener.close()


@pytest.fixture(scope="module")
def stalling_vies(drill_services):
    vies = StallingVies()
    yield vies
    vies.close()


@pytest.fixture(scope="module")
def cluster(private_redis, tmp_path_factory, stalling_vies):
    """This module's cluster: the same workers, with VIES_BASE_URL at the stalling server."""
    c = Cluster(redis=private_redis, workdir=tmp_path_factory.mktemp("cluster-queues"))
    c.env["VIES_BASE_URL"] = stalling_vies.url
    yield c
    stalling_vies.release()  # a held check would keep the warm shutdown waiting
    c.stop()


def test_a_hanging_vies_never_holds_back_webhooks(make_drill, cluster, drill_receiver, stalling_vies):
    drill = make_drill("vies-hangs")
    partner = PartnerAuthorization.objects.filter(organization=drill.organization).first().partner
    buyers = [
        Buyer.objects.create(
            organization=drill.organization,
            partner=partner,
            vat_number=f"DE1234567{n:02d}",
            country_code="DE",
            name=f"Drill buyer {n}",
            vies_next_check_at=timezone.now(),
        )
        for n in range(VIES_CHECKS)
    ]
    drill_receiver.up()
    cluster.ensure_running()

    # VIES checks first: they reach the stalling VIES and hold the background worker.
    cluster.child("vies", *[str(b.pk) for b in buyers])
    wait_until(lambda: stalling_vies.holding >= 1, timeout=60, what="a VIES check held by the stalling VIES")

    # Then the business emits events; the webhooks worker delivers every one while VIES still hangs.
    drill.emit(EVENTS)
    drill.wait_all_delivered(timeout=90)
    assert stalling_vies.answered == 0, "VIES answered before the webhooks went out: the drill proved nothing"
    assert stalling_vies.holding >= 1
    assert Buyer.objects.filter(pk__in=[b.pk for b in buyers], vies_attempts__gt=0).count() == 0
    counts = drill.report()
    assert counts["delivered"] == EVENTS
    # Every delivery was attempted once: nothing waited for a retry either.
    assert set(WebhookDelivery.objects.values_list("attempt_count", flat=True)) == {1}

    # VIES recovers: the held check and the queued ones behind it (on their own queue) all complete.
    stalling_vies.release()
    wait_until(
        lambda: Buyer.objects.filter(pk__in=[b.pk for b in buyers], vies_result="VALID").count() == VIES_CHECKS,
        timeout=90,
        what="every VIES check completed once VIES answered",
    )
    assert stalling_vies.answered == VIES_CHECKS
