"""A loopback SMTP server (aiosmtpd) for the sending benchmarks, in its own process so that it
does not share a GIL with what it measures. It counts what it stores per Message-ID and per
wall-clock second, and writes the counts as JSON to OUTFILE when it gets SIGTERM.

    python bench/smtp_counter.py PORT OUTFILE [DELAY_SECONDS]

DELAY_SECONDS (default 0) holds every reply to DATA that long, as a slower server would: the
soak uses it so that its kills land while the batch is still sending.
"""

import asyncio
import json
import re
import signal
import sys
import threading
import time
from collections import Counter

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


class Counting:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.per_id: Counter = Counter()
        self.per_second: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        match = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.per_id[match.group(1).decode() if match else ""] += 1
            self.per_second[int(time.time())] += 1
        return "250 OK"


def main() -> None:
    port, outfile = int(sys.argv[1]), sys.argv[2]
    handler = Counting(float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    with handler.lock, open(outfile, "w") as out:
        json.dump({"per_id": handler.per_id, "per_second": handler.per_second}, out)


if __name__ == "__main__":
    main()
