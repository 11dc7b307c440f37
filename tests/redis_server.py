"""A throwaway Redis server for the worker tests: loopback only, a free port, no files kept.

``RedisServer(directory)`` starts ``redis-server`` (Debian's package, which
.ci/run installs) on 127.0.0.1 and a port that was free, waits until it answers
PING, and ``stop()`` stops it. Nothing is saved to disk.
"""

import shutil
import socket
import time

from processes import Service, missing

HOST = "127.0.0.1"  # the only address the tests' servers listen on


def redis_server_binary():
    """The path of ``redis-server``; skips the test (fails it in CI) when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        missing(
            "redis-server is not installed (Debian: apt-get install redis-server); "
            "the tests with RQ and Celery workers need it"
        )
    return found


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ping(port, timeout=1.0):
    """Whether a Redis server answers PING on ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A running ``redis-server``; ``url`` is its address for database ``0``."""

    def __init__(self, directory, attempts=3):
        binary = redis_server_binary()
        for attempt in range(attempts):
            self.port = free_port()
            self.service = Service(
                [
                    binary,
                    "--bind", HOST,
                    "--port", self.port,
                    "--protected-mode", "yes",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", directory,
                    "--daemonize", "no",
                ],
                cwd=directory,
                env=None,
                log=directory / f"redis-{self.port}.log",
                grace=10,
            )  # fmt: skip
            try:
                self.service.wait_for(lambda: ping(self.port), "starting redis-server", 30)
                return
            except RuntimeError:  # exited: most likely the port was taken meanwhile
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2)

    def url(self, db=0):
        return f"redis://{HOST}:{self.port}/{db}"

    def stop(self):
        self.service.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
