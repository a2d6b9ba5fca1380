"""Real HTTP servers on 127.0.0.1 in a thread: a WSGI app (todo-api, for its event feed), a
webhook receiver that records what it was sent and answers with the statuses it is told to, and
one that never finishes answering."""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from werkzeug.serving import make_server

from taskoverflow_testing.ports import free_port


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (monotonic clock)


@dataclass
class WebhookReceiver:
    """Answers each POST with the next status in `statuses` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [204])
    received: list[ReceivedRequest] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self._lock:
            index = min(len(self.received) - 1, len(self.statuses) - 1)
            return self.statuses[index]


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(statuses=statuses or [204])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver._lock:
                receiver.received.append(ReceivedRequest(self.path, dict(self.headers), body))
            self.send_response(receiver.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/calendar"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join(10)


@dataclass
class DripReceiver:
    """A webhook receiver that accepts, reads the request, then answers one byte every
    `interval` seconds: no read ever waits long, yet the answer never ends. It records when each
    connection opened and when the sender closed it (noticed at once, not at the next byte)."""

    interval: float
    url: str = ""
    spans: list[list[float | None]] = field(default_factory=list)  # [opened, closed]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> int:
        """Connections held right now."""
        with self._lock:
            return sum(1 for _, closed in self.spans if closed is None)

    def open_at(self, moment: float) -> bool:
        """Whether a connection was held at `moment` (time.monotonic())."""
        with self._lock:
            return any(
                opened is not None and opened <= moment and (closed is None or closed > moment)
                for opened, closed in self.spans
            )


@contextmanager
def drip_receiver(interval: float = 2.0) -> Iterator[DripReceiver]:
    receiver = DripReceiver(interval=interval)
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", free_port()))
    receiver.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/slow"

    def serve(conn: socket.socket) -> None:
        span: list[float | None] = [time.monotonic(), None]
        with receiver._lock:
            receiver.spans.append(span)
        try:
            conn.settimeout(interval)
            with contextlib.suppress(OSError):
                conn.recv(65536)  # the request; its contents do not matter here
            for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: yes\r\n"):
                # Wait for the next byte's turn, but notice at once if the sender hangs up.
                readable, _, _ = select.select([conn], [], [], interval)
                if stop.is_set() or (readable and not conn.recv(1, socket.MSG_PEEK)):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            return  # the sender gave up and closed: what a deadline does
        finally:
            with receiver._lock:
                span[1] = time.monotonic()
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield receiver
    finally:
        stop.set()
        listener.close()
