"""A worker survives Redis going away while a task runs (portal/core/broker.py): closing is not a crash."""

import shutil

import pytest
from kombu import Connection, Exchange, Queue

from tests.resilience.conftest import PrivateRedis

pytestmark = pytest.mark.resilience


@pytest.mark.parametrize(
    ("transport", "survives"), [("portal.core.broker:RedisTransport", True), ("redis", False)], ids=["ours", "kombu"]
)
def test_closing_a_channel_with_an_unacked_message_after_redis_died(tmp_path, transport, survives):
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary")
    redis = PrivateRedis(tmp_path)
    try:
        connection = Connection(f"{redis.url}/0", transport=transport)
        channel = connection.default_channel
        queue = Queue("drill", Exchange("drill"), "drill")
        connection.Producer(channel).publish({"n": 1}, exchange=queue.exchange, routing_key="drill", declare=[queue])
        received = []
        consumer = connection.Consumer(
            queue, channel=channel, accept=["json"], callbacks=[lambda b, m: received.append(m)]
        )
        consumer.consume()
        connection.drain_events(timeout=5)
        assert received  # a task running, acknowledged late
        redis.stop()
        # What the worker's `collect()` leaves when the channel's own close failed on the dead socket.
        connection._do_close_transport()
        if survives:
            connection.maybe_close_channel(channel)  # a connection error at most: the worker reconnects
        else:
            with pytest.raises(AttributeError):  # "Unrecoverable error": the worker stopped
                connection.maybe_close_channel(channel)
    finally:
        redis.stop()
