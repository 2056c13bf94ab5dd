"""Receivers for the webhook benchmarks that are not instant, each a real separate process.

python bench/_slow_receiver.py PORT_FILE delay 100   # aiohttp.web: answers 204 after 100 ms, any number at once
python bench/_slow_receiver.py PORT_FILE never       # accepts the connection, reads, never answers

Writes the port it listens on to PORT_FILE. With a third argument `log` (delay mode) it also appends
`<unix time> <path>` per answered request to PORT_FILE + ".log", for latency measured at the receiver.
"""

import asyncio
import sys

from aiohttp import web


async def delay_server(port_file: str, delay_ms: float, log: bool) -> None:
    log_fh = open(port_file + ".log", "a", buffering=1) if log else None  # noqa: SIM115
    loop = asyncio.get_running_loop()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay_ms / 1000)
        if log_fh is not None:
            log_fh.write(f"{loop.time()} {request.path}\n")
        return web.Response(status=204)

    app = web.Application(client_max_size=1024**2)
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    with open(port_file, "w") as fh:
        fh.write(str(port))
    await asyncio.Event().wait()


async def never_server(port_file: str) -> None:
    held = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep it open: the client waits for an answer that never comes
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
    with open(port_file, "w") as fh:
        fh.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port_file, mode = sys.argv[1], sys.argv[2]
    if mode == "delay":
        asyncio.run(delay_server(port_file, float(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "log"))
    else:
        asyncio.run(never_server(port_file))
