"""Where a webhook may be sent: the rule todo-api applies when a callback_url is given and the
notifier applies again just before it connects.

A callback URL is a caller asking our network to make a request for them, so a host inside our
network (loopback, link-local such as the cloud metadata address, private ranges) would let a
stranger probe it. Such addresses are refused unless an operator lists the network in
CALLBACK_ALLOWED_NETWORKS (the tests allow 127.0.0.0/8 for their local receivers). The check runs
twice because DNS can change between the request and the delivery.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

CALLBACK_URL_MAX = 2000

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]


class CallbackRefused(ValueError):
    """The URL may not receive webhooks; the message says why, for the caller."""


class HostUnresolved(LookupError):
    """The name does not resolve now: todo-api accepts it (the notifier checks again)."""


def parse_networks(text: str | None) -> tuple[IpNetwork, ...]:
    """CALLBACK_ALLOWED_NETWORKS: comma-separated CIDRs, e.g. "127.0.0.0/8,::1/128"."""
    if not text:
        return ()
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolved(host) from exc
    return sorted({str(info[4][0]) for info in infos})


def internal(address: IpAddress) -> bool:
    """An address a stranger must not reach through us."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_address(address: IpAddress, allowed: Iterable[IpNetwork]) -> None:
    if internal(address) and not any(address in net for net in allowed):
        raise CallbackRefused(
            f"the callback host resolves to {address}, an internal address; webhooks go to "
            "public hosts only"
        )


def check_callback_url(
    url: str,
    allowed: Sequence[IpNetwork] = (),
    *,
    resolver: Resolver = resolve,
    require_resolution: bool = False,
) -> None:
    """Raise CallbackRefused unless `url` is http(s) to a host outside our network.

    A name that does not resolve passes unless `require_resolution` (the notifier's check, made
    right before connecting): a webhook's DNS may be set up after the job was asked for.
    """
    if len(url) > CALLBACK_URL_MAX:
        raise CallbackRefused(f"must be at most {CALLBACK_URL_MAX} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise CallbackRefused("must not carry credentials")
    if port == 0:
        raise CallbackRefused("port 0 is not a port")
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host)]
        except HostUnresolved:
            if require_resolution:
                raise CallbackRefused(f"the callback host {host} does not resolve") from None
            return
    for address in addresses:
        check_address(address, allowed)
