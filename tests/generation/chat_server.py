"""A chat-completions server on loopback for the language-model writer's tests.

It speaks the OpenAI-compatible protocol (POST /v1/chat/completions → {"choices": [{"message":
{"content": ...}}]}) and, request by request, does what the test scripted: answer, answer 429
with a Retry-After, stall past the client's timeout, or send malformed JSON.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def rewrite(draft: dict) -> dict:
    """The model's "rewrite": the draft with a marker, so a test can tell who wrote it."""
    return {"subject": "[model] " + draft["subject"], "body": "[model] " + draft["body"]}


class ChatServer:
    def __init__(self):
        self.script: list[tuple] = []  # consumed one per request; then ("ok",)
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers),
                                            "json": payload, "at": time.monotonic()})
                    step = server.script.pop(0) if server.script else ("ok",)
                server._answer(self, step, payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/chat/completions"

    def _answer(self, handler, step, payload):
        kind = step[0]
        if kind == "sleep":
            time.sleep(step[1])
            step = ("ok",)
            kind = "ok"
        if kind == "ok":
            user = json.loads(payload["messages"][-1]["content"])
            content = json.dumps(rewrite(user["draft"]))
            body = json.dumps({"id": "x", "object": "chat.completion",
                               "choices": [{"index": 0, "message": {"role": "assistant",
                                                                    "content": content}}]}).encode()
            self._send(handler, 200, body)
        elif kind == "status":
            self._send(handler, step[1], b'{"error": "scripted"}', step[2] if len(step) > 2 else {})
        elif kind == "raw":
            self._send(handler, 200, step[1])
        elif kind == "content":
            body = json.dumps({"choices": [{"message": {"content": step[1]}}]}).encode()
            self._send(handler, 200, body)

    @staticmethod
    def _send(handler, status, body: bytes, headers=None):
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
