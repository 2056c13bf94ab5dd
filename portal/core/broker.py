"""Broker transports: the embedded one of `make run`, and Redis made to survive a server restart.

The embedded broker is kombu's filesystem transport, made safe for several processes.

Stock kombu writes a message file in place (a consumer polling at that moment can read it half written)
and claims it by moving it to the temp directory (a copy, not an atomic rename, when /tmp is another
file system). Here a message is written under a temporary name and renamed into the queue folder, and a
consumer claims it with an atomic rename inside the broker folder, so two consumers never get one message.
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem, redis
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from redis.exceptions import ConnectionError as RedisConnectionError


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # No dot in the temporary name: consumers only look at "<stamp>.<queue>.msg" files.
        partial = os.path.join(self.data_folder_out, f"~{uuid.uuid4().hex}")
        try:
            with open(partial, "wb") as stream:
                stream.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add a message to {self.data_folder_out!r}") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, filename)
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except OSError:
                continue  # another consumer claimed it first
            try:
                with open(claimed, "rb") as stream:
                    payload = stream.read()
            finally:
                if not self.store_processed:
                    os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel


def filesystem_transport_options(folder) -> dict:
    """Folders of the embedded broker under `folder`, created if missing."""
    options = {
        "data_folder_in": folder / "queue",
        "data_folder_out": folder / "queue",
        "processed_folder": folder / "claimed",
        "control_folder": folder / "control",
    }
    for path in options.values():
        path.mkdir(parents=True, exist_ok=True)
    return {**{key: str(path) for key, path in options.items()}, "store_processed": False}


class RedisChannel(redis.Channel):
    """kombu 5.7's Redis channel, whose late close after a lost server is a connection error, not a crash.

    When Redis goes away while a task runs (acks late), the worker's `collect()` can detach the transport
    before the channel is closed; the later `close()` restores the unacknowledged messages through a new
    pool built from the detached transport: AttributeError ('NoneType' … 'hostname'), which Celery reports
    as an "Unrecoverable error" and the worker stops. As a connection error it is ignored, the worker
    reconnects, and the message is redelivered (Redis keeps unacknowledged messages) or gone with the server.
    """

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(redis.Transport):
    Channel = RedisChannel
