"""A writer that asks a language model, through an OpenAI-compatible chat-completions endpoint
(a hosted model or a local server), to rewrite the campaign's draft for each prospect.

Standard library only (urllib): one POST per message. The API key is never stored: the
settings name the environment variable that holds it (api_key_env). A 429 or 503 is retried
after the server's Retry-After (capped), a timeout or another 5xx after a short pause, up to
max_attempts; anything else, or a reply that is not the JSON we asked for, is a WriterError.
"""

import email.utils
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from apps.generation.rendering import render_message
from apps.generation.writers.base import Writer, WriterError

INSTRUCTIONS = (
    "You rewrite a cold e-mail draft for one prospect. Keep every fact of the draft, invent "
    "nothing, keep it short and plain text. Reply with one JSON object and nothing else: "
    '{"subject": "...", "body": "..."}'
)
KNOWN_SETTINGS = {"url", "model", "api_key_env", "timeout_seconds", "max_attempts",
                  "max_retry_after_seconds", "temperature", "instructions", "chunk_size",
                  "concurrency"}
DEFAULT_CHUNK_SIZE = 20  # one request per message: a chunk job must end well within its timeout
DEFAULT_CONCURRENCY = 4
SECRET_LOOKING = re.compile(r"key|token|secret|password", re.IGNORECASE)


class ChatCompletionsWriter(Writer):
    name = "chat_completions"
    label = "Language model (OpenAI-compatible chat completions)"

    @classmethod
    def check_settings(cls, settings: dict) -> list[str]:
        problems = []
        for key in settings:
            if key != "api_key_env" and SECRET_LOOKING.search(key):
                problems.append(f"{key!r}: never store a key here; put it in an environment "
                                "variable and name that variable in api_key_env.")
            elif key not in KNOWN_SETTINGS:
                problems.append(
                    f"Unknown setting {key!r} (known: {', '.join(sorted(KNOWN_SETTINGS))})."
                )
        if not str(settings.get("url", "")).startswith(("http://", "https://")):
            problems.append("url must be the endpoint's http:// or https:// address "
                            "(…/v1/chat/completions).")
        if not str(settings.get("model", "")).strip():
            problems.append("model is required.")
        env = settings.get("api_key_env", "")
        if env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(env)):
            problems.append("api_key_env must be the name of an environment variable.")
        for key, low, high in (("timeout_seconds", 1, 600), ("max_attempts", 1, 10),
                               ("max_retry_after_seconds", 0, 600), ("chunk_size", 1, 500),
                               ("concurrency", 1, 16)):
            value = settings.get(key)
            if value is not None and not (isinstance(value, int | float) and low <= value <= high):
                problems.append(f"{key} must be a number from {low} to {high}.")
        return problems

    @classmethod
    def public_settings(cls, settings: dict) -> dict:
        shown = dict(settings)
        env = settings.get("api_key_env")
        if env:
            shown["api_key_env"] = f"{env} ({'set' if os.environ.get(env) else 'NOT set'} here)"
        return shown

    @classmethod
    def chunk_size(cls, settings: dict) -> int | None:
        return int(settings.get("chunk_size", DEFAULT_CHUNK_SIZE))

    def write_many(self, contexts):
        # Requests wait on the network, not the CPU: a few at once, in the chunk's order.
        pool = ThreadPoolExecutor(
            max_workers=int(self.settings.get("concurrency", DEFAULT_CONCURRENCY))
        )
        try:
            return list(pool.map(self.write, contexts))
        finally:
            # After a failure the chunk fails as a whole: do not send the requests still queued.
            pool.shutdown(wait=True, cancel_futures=True)

    def __init__(self, settings: dict, *, templates):
        super().__init__(settings, templates=templates)
        self.url = settings["url"]
        self.timeout = float(settings.get("timeout_seconds", 30))
        self.max_attempts = int(settings.get("max_attempts", 3))
        self.max_retry_after = float(settings.get("max_retry_after_seconds", 30))
        env = settings.get("api_key_env", "")
        self.api_key = os.environ.get(env, "") if env else ""
        if env and not self.api_key:
            raise WriterError(f"The environment variable {env} (the API key) is not set.")

    def write(self, context: dict[str, object]) -> tuple[str, str]:
        subject, body = render_message(self.templates, context)
        request = {
            "model": self.settings["model"],
            "messages": [
                {"role": "system", "content": self.settings.get("instructions") or INSTRUCTIONS},
                {"role": "user", "content": json.dumps(
                    {"draft": {"subject": subject, "body": body},
                     "prospect": {k: v for k, v in context.items() if k != "custom"}
                     | {"custom": context.get("custom", {})}},
                    ensure_ascii=False)},
            ],
        }
        if "temperature" in self.settings:
            request["temperature"] = self.settings["temperature"]
        return _parse_reply(self._post(request))

    def _post(self, payload: dict) -> bytes:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} from the model endpoint"
                if exc.code in (429, 503):
                    wait = _retry_after(exc.headers.get("Retry-After"))
                    if wait > self.max_retry_after:
                        raise WriterError(
                            f"{last}: it asks to wait {wait:.0f} s, more than "
                            f"max_retry_after_seconds ({self.max_retry_after:.0f})."
                        ) from exc
                elif exc.code >= 500:
                    wait = 0.5 * attempt
                else:
                    raise WriterError(f"{last}: {_body_excerpt(exc)}") from None
            except TimeoutError:
                last, wait = f"no answer within {self.timeout:.0f} s", 0.5 * attempt
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError | socket.timeout):
                    last, wait = f"no answer within {self.timeout:.0f} s", 0.5 * attempt
                else:
                    raise WriterError(f"cannot reach the model endpoint: {exc.reason}") from None
            if attempt < self.max_attempts:
                time.sleep(wait)
        raise WriterError(f"The model endpoint failed {self.max_attempts} times; last: {last}.")


def _retry_after(header: str | None) -> float:
    """Seconds to wait: Retry-After is a number of seconds or an HTTP date (1 s if absent)."""
    if not header:
        return 1.0
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _body_excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(300).decode("utf-8", "replace")
    except OSError:
        return ""


def _parse_reply(raw: bytes) -> tuple[str, str]:
    try:
        reply = json.loads(raw)
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise WriterError("The model endpoint's reply is not a chat completion "
                          f"(malformed JSON): {raw[:200]!r}") from None
    # Models like to wrap JSON in a Markdown code fence.
    text = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", str(content))
    try:
        message = json.loads(text)
        subject, body = message["subject"], message["body"]
    except (ValueError, KeyError, TypeError):
        raise WriterError("The model did not answer with {\"subject\", \"body\"} JSON: "
                          f"{str(content)[:200]!r}") from None
    if not isinstance(subject, str) or not isinstance(body, str) or not body.strip():
        raise WriterError("The model's subject and body must be non-empty text.")
    return " ".join(subject.split()), body
