"""Postfix's smtp-sink on loopback, started by a test: a real, fast SMTP server (C) that offers
PIPELINING but not CHUNKING, keeps every message it takes in a dump file (-D), and can be told
to stop after n messages (-M n: it takes the nth and exits without replying to it).

    with PostfixSink() as sink:            # pytest.skip()s if the programs are not there
        ...send...
        sink.message_ids()

The programs come from Debian's postfix package, extracted without installing the service
(`apt-get download postfix && dpkg -x postfix_*.deb DIR`, as .ci/run does): POSTFIX_TOOLS=DIR
(the root of the extracted package, or the directory holding smtp-sink), else /usr/sbin.
"""

import os
import re
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.smtp_server import free_port

MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(<[^>\r\n]+>)")


def postfix_tools() -> tuple[Path, dict[str, str]] | None:
    """smtp-sink's path and the environment it runs in (its own libraries), or None."""
    base = Path(os.environ.get("POSTFIX_TOOLS") or "/usr/sbin")
    if (base / "usr" / "sbin" / "smtp-sink").exists():
        base = base / "usr" / "sbin"  # the root of an extracted package
    program = base / "smtp-sink"
    if not os.access(program, os.X_OK):
        return None
    env = dict(os.environ)
    libraries = base.parent / "lib" / "postfix"
    if libraries.is_dir():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            filter(None, [str(libraries), os.environ.get("LD_LIBRARY_PATH")]))
    return program, env


class PostfixSink:
    host = "127.0.0.1"

    def __init__(self, *, stop_after: int | None = None) -> None:
        found = postfix_tools()
        if found is None:
            pytest.skip("Postfix's smtp-sink not found: set POSTFIX_TOOLS to an extracted "
                        "postfix package (apt-get download postfix && dpkg -x postfix_*.deb DIR)")
        self.program, self.env = found
        self.stop_after = stop_after
        self.port = free_port()

    def __enter__(self) -> "PostfixSink":
        self.directory = tempfile.mkdtemp(prefix="smtp-sink-")
        os.chmod(self.directory, 0o777)  # as root it writes as nobody
        self.dump = Path(self.directory) / "dump"
        command = [str(self.program), "-D", str(self.dump)]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        if self.stop_after is not None:
            command += ["-M", str(self.stop_after)]
        self.process = subprocess.Popen(
            [*command, f"{self.host}:{self.port}", "100"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    probe.recv(100)  # its greeting (a probe closed unread can count as a session)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("smtp-sink did not start") from None
                time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)

    def wait_until_stopped(self, timeout: float = 30) -> None:
        """With stop_after: until it has exited (it does once it took its last message)."""
        self.process.wait(timeout=timeout)

    def message_ids(self) -> list[str]:
        raw = self.dump.read_bytes() if self.dump.exists() else b""
        return [m.decode() for m in MESSAGE_ID.findall(raw)]

    def count_by_message_id(self) -> Counter:
        return Counter(self.message_ids())
