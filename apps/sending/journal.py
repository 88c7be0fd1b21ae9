"""The send journal: a local, append-only record of what a sending process did with each message
of its claims, so that a process killed in the middle of a claim leaves "unknown" only what may
really have reached the server.

The database holds a claim's attempts from the moment they are committed (one commit per claim,
which waits for the disk) until its outcomes are committed together. A process killed in between
used to leave every message of the claim with an open attempt, so all of them became unknown,
those never handed over included. The journal tells them apart. For each claim the process
writes, with one write(2) each:

    C <token> <id,id,…>        before the claim's attempts are committed (and again when the
                               claim is renewed under a new token): these messages are this
                               journal's;
    H <token> <id>             just before the first byte of the message itself goes to the
                               server (after DATA's 354, or with its BDAT command);
    R <token> <id> <reply>     as soon as the server's verdict on it is read (or known lost).

A write to a file survives the process that made it (it is in the kernel's page cache at once),
so after a kill the journal says, per message: handed over and answered (record the answer),
handed over without an answer (unknown: the messages in flight, one per connection, or a window
of them where the server offers CHUNKING), or never handed over (queue it again). Several
threads of one process (one per SMTP connection) write to the same segment: each line is one
write(2) to a file opened O_APPEND, so lines never interleave. It does not survive the machine:
each segment names the boot it was written in, and one from an earlier boot is not trusted (its
messages fall to the lease rule: unknown).

Segments: a process writes into one file at a time and holds an exclusive flock(2) on it for as
long as it lives; the kernel drops the lock when the process dies, however it dies, which is how
a reader knows the writer is gone (no pid files, no pid reuse). A new segment starts at every
claim; the one before is deleted once the new claim's attempts are committed, because that
commit waits for the disk and so makes every outcome committed before it durable as well.

A line cut short by the kill (no newline) is ignored: a cut H line means the message was not
sent yet, a cut R line leaves its message unknown, a cut C line leaves its messages to the
lease.
"""

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii
from pathlib import Path

SUFFIX = ".journal"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: nothing tells a reboot apart, so no segment is ever trusted
        return ""


BOOT_ID = _boot_id()
HOST = socket.gethostname()


class SendJournal:
    """The journal of one sending process (`with SendJournal(directory, database) as journal`).
    `database` names the database the message ids belong to: a reader skips other databases'
    segments."""

    def __init__(self, directory: Path, database: str) -> None:
        self.directory = Path(directory)
        self.database = database
        self.fd: int | None = None
        self.path: Path | None = None
        self.previous: list[tuple[int, Path]] = []  # segments to delete at the next durable commit
        # The last token and its text: written twice a message, worked out once a claim. One
        # tuple, replaced whole: the pool's threads (apps/sending/smtp.py) read it at once.
        self._token_text: tuple[datetime | None, str] = (None, "")

    def __enter__(self) -> "SendJournal":
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close(finished=exc[0] is None)

    # --- writing ---------------------------------------------------------------------------

    def new_claim(self, token: datetime, ids: list[int]) -> None:
        """A claim's messages, before their attempts are committed: starts a new segment."""
        if self.fd is not None and self.path is not None:  # (set and cleared together)
            self.previous.append((self.fd, self.path))
        self._open_segment()
        self._write(f"C\t{self._text(token)}\t{','.join(map(str, ids))}\n")

    def renewed(self, token: datetime, ids: list[int]) -> None:
        """The claim of `ids` moves to `token` (written before the renewal is committed)."""
        self._write(f"C\t{self._text(token)}\t{','.join(map(str, ids))}\n")

    def attempts_committed(self) -> None:
        """The claim's attempts are committed, waiting for the disk: every outcome before them is
        durable, and the earlier segments are no longer needed."""
        for fd, path in self.previous:
            _remove(path)
            os.close(fd)
        self.previous = []

    def handing_over(self, token: datetime, message_id: int) -> None:
        self._write(f"H\t{self._text(token)}\t{message_id}\n")

    def answered(self, token: datetime, message_id: int, outcome: str, code: int | None,
                 detail: str) -> None:
        reply = reply_json(outcome, code, detail)  # one line, whatever it says
        self._write(f"R\t{self._text(token)}\t{message_id}\t{reply}\n")

    def _text(self, token: datetime) -> str:
        """`token.isoformat()`, worked out once per token rather than twice a message."""
        cached = self._token_text
        if cached[0] is not token:
            cached = self._token_text = (token, token.isoformat())
        return cached[1]

    def close(self, *, finished: bool) -> None:
        """`finished`: the run ended normally and its last outcomes are committed, so nothing
        here is needed. Otherwise (an exception) the segments stay for a reader to check, once
        this process has let go of them."""
        open_now = [(self.fd, self.path)] if self.fd is not None and self.path is not None else []
        segments = [*self.previous, *open_now]
        for fd, path in segments:
            if finished:
                _remove(path)
            os.close(fd)
        self.previous, self.fd, self.path = [], None, None

    def _open_segment(self) -> None:
        self.path = self.directory / f"{HOST}-{os.getpid()}-{uuid.uuid4().hex[:12]}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)  # held until this process lets go or dies
        header = json.dumps({"boot": BOOT_ID, "host": HOST, "database": self.database})
        self._write(f"B\t{header}\n")

    def _write(self, line: str) -> None:
        if self.fd is None:
            raise RuntimeError("the send journal has no open segment")
        os.write(self.fd, line.encode())


def reply_json(outcome: str, code: int | None, detail: str) -> str:
    """`json.dumps([outcome, code, detail], ensure_ascii=True)`, the same text, written with the
    JSON string encoder json.dumps itself uses (C): a sixth of its time, once a message."""
    if type(outcome) is str and type(detail) is str and (code is None or type(code) is int):
        code_text = "null" if code is None else int.__repr__(code)
        return (f"[{encode_basestring_ascii(outcome)}, {code_text}, "
                f"{encode_basestring_ascii(detail)}]")
    return json.dumps([outcome, code, detail], ensure_ascii=True)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# --- reading: what a dead process's journal says -----------------------------------------------

@dataclass
class Reply:
    outcome: str
    code: int | None
    detail: str


@dataclass
class Entry:
    """What a journal says about one message."""

    tokens: set[datetime] = field(default_factory=set)  # the claims it was in
    handed_over: set[datetime] = field(default_factory=set)  # DATA sent under these claims
    replies: dict[datetime, Reply] = field(default_factory=dict)


@dataclass
class Segment:
    path: Path
    trusted: bool  # written during this boot, on this host
    database: str
    entries: dict[int, Entry]
    age_seconds: float = 0.0  # since it was last written


def parse(path: Path, text: str) -> Segment:
    lines = text.split("\n")[:-1]  # the last piece has no newline: cut short, or empty
    header = {}
    if lines and lines[0].startswith("B\t"):
        header = json.loads(lines[0][2:])
    trusted = bool(BOOT_ID) and header.get("boot") == BOOT_ID and header.get("host") == HOST
    entries: dict[int, Entry] = {}
    for line in lines[1:]:
        kind, token_text, rest = (line.split("\t", 2) + ["", ""])[:3]
        token = datetime.fromisoformat(token_text)
        if kind == "C":
            for message_id in filter(None, rest.split(",")):
                entries.setdefault(int(message_id), Entry()).tokens.add(token)
        elif kind == "H":
            entries.setdefault(int(rest), Entry()).handed_over.add(token)
        elif kind == "R":
            message_id, reply = rest.split("\t", 1)
            entries.setdefault(int(message_id), Entry()).replies[token] = Reply(*json.loads(reply))
    return Segment(path, trusted, header.get("database", ""), entries)


def abandoned_segments(directory: Path):
    """Yield (segment, done) for each segment whose writer is gone, holding its lock while the
    caller works on it; `done()` deletes it. A segment still locked is a live process's."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # finished and deleted meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            if os.fstat(fd).st_nlink == 0:
                continue  # another reader finished it while we waited
            with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as reader:
                segment = parse(path, reader.read())
            segment.age_seconds = time.time() - os.fstat(fd).st_mtime
            yield segment, (lambda p=path: _remove(p))
        finally:
            os.close(fd)
