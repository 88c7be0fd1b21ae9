"""A TCP proxy on loopback that holds every segment it relays for DELAY seconds, each way: an SMTP
server behind it answers as one DELAY*2 round trip away would (10 ms each way: a relay 20 ms
away). Segments keep their order and are not held behind one another: a segment read at t goes
out at t + DELAY, however many are waiting. In its own process, so that it shares no GIL with
what it measures.

    python bench/latency_proxy.py LISTEN_PORT UPSTREAM_PORT [DELAY_SECONDS]

Prints "ready" once listening; stops on SIGTERM.
"""

import asyncio
import contextlib
import signal
import sys

CHUNK = 65536


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
                ) -> None:
    """Copy one direction, each piece read written `delay` seconds later."""
    loop = asyncio.get_running_loop()
    held: asyncio.Queue = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await held.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            await held.put((loop.time() + delay, data))
            if not data:
                break
    except (ConnectionError, OSError):
        await held.put((loop.time() + delay, b""))
    with contextlib.suppress(ConnectionError, OSError):
        await delivering


async def serve(listen_port: int, upstream_port: int, delay: float) -> None:
    async def connected(client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # stopped with connections open
            await asyncio.gather(relay(client_reader, upstream_writer, delay),
                                 relay(upstream_reader, client_writer, delay))

    server = await asyncio.start_server(connected, "127.0.0.1", listen_port, backlog=1000)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
    asyncio.run(serve(listen_port, upstream_port, delay))


if __name__ == "__main__":
    main()
