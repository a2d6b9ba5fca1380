"""One webhook attempt over HTTP(S): a POST that ends by its deadline, whatever the receiver does.

- The host is resolved once, every address it resolves to is checked against the callback rules
  (taskoverflow_events.callback_urls, honouring CALLBACK_ALLOWED_NETWORKS), and the connection
  goes to a checked address, so DNS cannot switch to an internal one in between (rebinding). The
  Host header and the TLS server name (SNI and the certificate check) stay the URL's host.
- The deadline (deadline.py) covers DNS, connect, TLS, sending, and the status line and headers.
- Redirects are never followed, proxies from the environment are never used, and at most
  MAX_RESPONSE_BYTES of the body are read before the connection is closed.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from notifier.delivery.deadline import Deadline, DeadlineExceeded
from notifier.delivery.schedule import AttemptResult
from taskoverflow_events.callback_urls import (
    CallbackRefused,
    HostUnresolved,
    IpNetwork,
    Resolver,
    check_callback_url,
    resolve,
)

MAX_RESPONSE_BYTES = 4096


class WebhookClient:
    def __init__(
        self,
        *,
        deadline_seconds: float,
        allowed_networks: Sequence[IpNetwork] = (),
        resolver: Resolver = resolve,
        ssl_context: ssl.SSLContext | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.deadline_seconds = deadline_seconds
        self._allowed = tuple(allowed_networks)
        self._resolver = resolver
        self._ssl_context = ssl_context or _default_ssl_context()
        self._max_bytes = max_response_bytes

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> AttemptResult:
        """Never raises for anything the receiver or the network does; says what happened."""
        deadline = Deadline(self.deadline_seconds)
        try:
            return self._post(url, body, headers, deadline)
        except CallbackRefused as exc:
            return AttemptResult(error=f"refused: {exc}", sent=False, final=True)
        except HostUnresolved:
            return AttemptResult(error="the host does not resolve")
        except (DeadlineExceeded, OSError, http.client.HTTPException, ValueError) as exc:
            if isinstance(exc, DeadlineExceeded) or deadline.expired:
                return AttemptResult(error=f"no answer within the {deadline.seconds:g} s deadline")
            return AttemptResult(error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            deadline.close()

    def _post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline: Deadline
    ) -> AttemptResult:
        check_callback_url(url, self._allowed, resolver=lambda _host: [])  # its form, first
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = _resolve_within(host, self._resolver, deadline)
        check_callback_url(url, self._allowed, resolver=lambda _host: addresses)
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        connect = functools.partial(_connect_to_checked, addresses, port, deadline)
        conn: http.client.HTTPConnection
        if tls:
            conn = PinnedHTTPSConnection(host, port, connect, self._ssl_context)
        else:
            conn = PinnedHTTPConnection(host, port, connect)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", target, body=body, headers={**headers, "Connection": "close"})
            response = conn.getresponse()
            if deadline.expired:
                # Cut off mid-headers, http.client may still return the status it had read.
                raise DeadlineExceeded
            status, retry_after = response.status, response.getheader("Retry-After")
            try:
                start = response.read(self._max_bytes)
            except (OSError, http.client.HTTPException):
                start = b""  # the status is the answer; the body is only for the record
            return AttemptResult(status_code=status, retry_after=retry_after, body=start)
        finally:
            conn.close()


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects with `connect` (to a checked address); the Host header stays the hostname."""

    def __init__(self, host: str, port: int, connect: Callable[[], socket.socket]) -> None:
        super().__init__(host, port)
        self._connect = connect

    def connect(self) -> None:
        self.sock = self._connect()


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, then TLS with the hostname as server name (SNI and the certificate check)."""

    def __init__(
        self,
        host: str,
        port: int,
        connect: Callable[[], socket.socket],
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, context=context)
        self._connect = connect
        self._tls = context

    def connect(self) -> None:
        self.sock = self._tls.wrap_socket(self._connect(), server_hostname=self.host)


def _connect_to_checked(addresses: list[str], port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers, within the deadline."""
    failure: OSError = OSError("no address to connect to")
    for ip in addresses:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            deadline.watch(sock)
            sock.settimeout(deadline.remaining())
            sock.connect((ip, port))
            return sock
        except DeadlineExceeded:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            failure = exc
    raise failure


def _resolve_within(host: str, resolver: Resolver, deadline: Deadline) -> list[str]:
    """The resolver has no timeout of its own (getaddrinfo), so it runs on a daemon thread that
    is abandoned, not waited for, when the deadline passes."""
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["addresses"] = resolver(host)
        except Exception as exc:  # noqa: BLE001 - handed to the caller below
            found["error"] = exc

    thread = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    if thread.is_alive():
        raise DeadlineExceeded
    if "error" in found:
        raise found["error"]
    addresses: list[str] = found["addresses"]
    if not addresses:
        raise HostUnresolved(host)
    return addresses


def _default_ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
