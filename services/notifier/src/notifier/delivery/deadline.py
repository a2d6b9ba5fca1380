"""A total wall-clock deadline for one webhook attempt, enforced against any receiver.

A socket timeout bounds one read; a receiver that sends a byte just before each read would time
out renews it forever. Here a timer shuts the attempt's sockets down when the deadline passes,
which ends whatever call is blocked on them (connect, the TLS handshake, send, recv) at once.
The sockets are watched through duplicates of their descriptors: shutting down either ends the
connection for both, and a duplicate survives TLS wrapping, which detaches the original object.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class DeadlineExceeded(Exception):
    """The attempt ran out of time."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._expired or time.monotonic() >= self._at

    def remaining(self) -> float:
        """Seconds left; raises DeadlineExceeded when there are none."""
        left = self._at - time.monotonic()
        if left <= 0 or self._expired:
            raise DeadlineExceeded
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock`'s connection down when the deadline passes (now, if it has)."""
        with self._lock:
            twin = sock.dup()
            self._watched.append(twin)
            if self._expired:
                _shut(twin)

    def close(self) -> None:
        """The attempt is over: stop the timer and let go of the duplicates."""
        self._timer.cancel()
        with self._lock:
            for twin in self._watched:
                twin.close()
            self._watched.clear()

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for twin in self._watched:
                _shut(twin)


def _shut(sock: socket.socket) -> None:
    # Not connected (yet, or any more) raises: the per-call timeout bounds a connect.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
