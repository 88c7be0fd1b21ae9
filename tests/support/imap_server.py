"""A real IMAP server on loopback: Debian's dovecot (dovecot-imapd), started with a generated
minimal configuration in a temporary directory (a passwd-file user, a Maildir, plain IMAP on a
free loopback port). No system service is used or touched."""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from tests.support.smtp_server import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT)


class ImapServer:
    """`with ImapServer() as imap:` … `imap.append(raw)`; user `bounces`, password `secret`."""

    host = "127.0.0.1"
    user = "bounces"
    password = "secret"

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="outbound-imap-"))
        self.process: subprocess.Popen | None = None

    def _accounts(self) -> dict:
        if os.geteuid() != 0:
            me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
            return {"internal_user": me, "internal_group": group, "login_user": me,
                    "uid": os.getuid(), "gid": os.getgid()}
        # As root (CI), dovecot runs its logins and mail processes as its own users.
        dovecot = pwd.getpwnam("dovecot")
        return {"internal_user": "dovecot", "internal_group": "dovecot", "login_user": "dovenull",
                "uid": dovecot.pw_uid, "gid": dovecot.pw_gid}

    def start(self) -> "ImapServer":
        accounts = self._accounts()
        self.root.chmod(0o755)  # the login and mail processes run as other users
        (self.root / "home").mkdir()
        if os.geteuid() == 0:
            os.chown(self.root / "home", accounts["uid"], accounts["gid"])
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, **accounts))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited: {stderr} {self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ImapServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def mailbox(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.port).login(self.user, self.password)

    def append(self, *raws: bytes) -> None:
        with self.mailbox() as box:
            for raw in raws:
                box.append(raw, "INBOX")

    def deliver(self, raws: list[bytes]) -> None:
        """Put mails in the mailbox as a local delivery agent does: each a file in the
        Maildir's new/ (no IMAP round trip and no fsync per mail, unlike append), taken in by
        dovecot at the next look, which this makes (SELECT), so that reading them later does
        not pay for it."""
        with self.mailbox() as box:  # the first login makes the Maildir
            maildir = self.root / "home" / self.user / "Maildir"
            owner = (maildir.stat().st_uid, maildir.stat().st_gid)
            for i, raw in enumerate(raws):
                path = maildir / "new" / f"{int(time.time())}.M{i}P{os.getpid()}.outbound-test"
                path.write_bytes(raw.replace(b"\r\n", b"\n"))
                if os.geteuid() == 0:
                    os.chown(path, *owner)
            box.folder.set("INBOX")

    def keywords(self) -> dict[str, tuple[str, ...]]:
        """Each message's flags, by UID."""
        with self.mailbox() as box:
            fetched = box.fetch(mark_seen=False, headers_only=True)
            return {m.uid: m.flags for m in fetched if m.uid is not None}
