"""A real HTTP server on loopback that records every request it gets and answers as the test
scripts it: a status code per request in turn (the last one repeats), or "slow" to answer only
after the sender has given up."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    def __init__(self, answers=(200,), slow_seconds: float = 5.0):
        self.answers = list(answers)
        self.slow_seconds = slow_seconds
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(
                        at=time.time(), path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    ))
                    answers = receiver.answers
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if answer == "slow":
                    time.sleep(receiver.slow_seconds)
                    answer = 200
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender stopped waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/outbound"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
