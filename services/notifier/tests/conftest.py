"""Real webhook receivers on 127.0.0.1 that misbehave on cue, for the notifier's tests.

A receiver follows a script, one step per request (the last step repeats):
- a status, or (status, headers, body): answer at once;
- "drip": accept, read the request, then send one byte of a response every `drip_every` s, for
  as long as the client stays (at most `hold_for` s);
- "hang": accept, read the request, answer nothing until the client leaves or release() (at
  most `hold_for` s);
- "endless": answer 200 and a body that never ends.
It records when each connection opened and closed, which is how the tests see who held a
connection when.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

Step = int | tuple[int, dict[str, str], bytes] | str


@dataclass
class Seen:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic(), when the request had arrived
    opened: float = 0.0  # when the connection was accepted
    closed: float | None = None  # when it ended


@dataclass
class Receiver:
    script: list[Step]
    drip_every: float = 2.0
    hold_for: float = 30.0  # a client that never lets go still ends the test
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI, per TLS handshake
    open_now: int = 0
    most_open: int = 0
    bytes_sent: int = 0
    url: str = ""
    host: str = "127.0.0.1"  # any loopback address; 127.0.0.2 stands in for another host
    bind_port: int = 0  # 0: a free one
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None

    def start(self) -> Receiver:
        self._listener = socket.create_server((self.host, self.bind_port))
        self._listener.settimeout(0.2)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://{self.host}:{self._listener.getsockname()[1]}/hooks/calendar"
        if self.tls:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    def release(self) -> None:
        """Let go of every connection held (hang, drip) and answer none that way again."""
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._listener is not None:
            self._listener.close()

    def open_at(self, moment: float) -> bool:
        """Whether one of this receiver's connections was open at `moment` (monotonic)."""
        return any(s.opened <= moment and (s.closed or float("inf")) > moment for s in self.seen)

    def wait_for(self, count: int, timeout: float) -> list[Seen]:
        """Bounded: the first `count` requests seen, or as many as arrived in `timeout` s."""
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.seen)

    def _accept(self) -> None:
        while not self._released.is_set():
            try:
                conn, _ = self._listener.accept()  # type: ignore[union-attr]
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        opened, seen = time.monotonic(), None
        with self._lock:
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        try:
            conn.settimeout(10)
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            seen = _read_request(conn)
            seen.opened = opened
            with self._lock:
                step = self.script[min(len(self.seen), len(self.script) - 1)]
                self.seen.append(seen)
            self._perform(conn, step)
        except (OSError, ValueError):
            pass  # the client went away, which is often the point
        finally:
            with self._lock:
                self.open_now -= 1
                if seen is not None:
                    seen.closed = time.monotonic()
            conn.close()

    def _perform(self, conn: socket.socket, step: Step) -> None:
        if isinstance(step, int):
            step = (step, {}, b"")
        if isinstance(step, tuple):
            status, headers, body = step
            lines = [f"HTTP/1.1 {status} Scripted", f"Content-Length: {len(body)}"]
            lines += [f"{k}: {v}" for k, v in headers.items()] + ["Connection: close", "", ""]
            conn.sendall("\r\n".join(lines).encode() + body)
        elif step == "drip":
            stream = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"." * 1_000_000
            until = time.monotonic() + self.hold_for
            for byte in stream:
                if self._client_left(conn, self.drip_every) or time.monotonic() > until:
                    return
                conn.sendall(bytes([byte]))
        elif step == "hang":
            until = time.monotonic() + self.hold_for
            while not self._client_left(conn, 0.1) and time.monotonic() < until:
                pass
        elif step == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            chunk = b"x" * 65536
            while self.bytes_sent < 200_000_000 and not self._released.is_set():
                conn.sendall(chunk)
                self.bytes_sent += len(chunk)

    def _client_left(self, conn: socket.socket, wait: float) -> bool:
        """Wait up to `wait` s; True when the client closed the connection (or we let go)."""
        readable, _, _ = select.select([conn], [], [], wait)
        if self._released.is_set():
            return True
        return bool(readable) and conn.recv(1) == b""


def _read_request(conn: socket.socket) -> Seen:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(4096)
        if not more:
            raise ValueError("no request")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += conn.recv(4096)
    return Seen(request_line.split(" ")[1], headers, body, time.monotonic())


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start receivers with `receivers(script, drip_every=…, tls=…)`; all stop at the end."""
    started: list[Receiver] = []

    def start(script: list[Step], **options: Any) -> Receiver:
        receiver = Receiver(script, **options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
