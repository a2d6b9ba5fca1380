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


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it through a
# translator (NAT64, RFC 6052 and RFC 8215): the IPv4 address inside is what gets reached.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# Refused whatever the Python version's copy of the IANA registry says (3.11's lets 192.0.0.8
# through): shared address space, IETF assignments, benchmarking, documentation.
NOT_GLOBAL: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",  # documentation (RFC 9637), inside global unicast
    )
)
# The only IPv6 space assigned for global unicast; everything outside it (IPv4-compatible and
# SIIT forms, site-local, reserved blocks such as 5f00::/16) is refused rather than reasoned about.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def internal(address: IpAddress) -> bool:
    """An address a stranger must not reach through us: anything not globally routable (IANA's
    special-purpose registries, as `is_global` reads them: loopback, private, link-local, the
    shared 100.64.0.0/10, documentation, benchmarking, reserved), multicast, any IPv6 address
    outside global unicast (2000::/3), and an IPv6 address whose embedded IPv4 address (mapped,
    6to4, NAT64) is internal. Teredo is refused whole: its client address is obfuscated and it
    tunnels past any such check."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return internal(address.ipv4_mapped)
        if address.sixtofour is not None:
            return internal(address.sixtofour)
        if address.teredo is not None:
            return True
        if any(address in prefix for prefix in NAT64_PREFIXES):
            return internal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address not in GLOBAL_UNICAST_V6:
            return True
    listed = any(address in network for network in NOT_GLOBAL)
    return listed or not address.is_global or address.is_multicast


def check_address(address: IpAddress, allowed: Iterable[IpNetwork], *, named: bool) -> None:
    """A refusal names the address only when the caller wrote it: what a name resolves to
    inside our network is not the caller's to learn."""
    if internal(address) and not any(address in net for net in allowed):
        if named:
            raise CallbackRefused(
                "the callback host resolves to an internal address; webhooks go to public "
                "hosts only"
            )
        raise CallbackRefused(f"{address} is an internal address; webhooks go to public hosts only")


def no_lookup(host: str) -> list[str]:
    """A resolver that never resolves: for a check in a request's own thread, where a slow
    name server must not hold it (the notifier resolves, within its delivery deadline)."""
    raise HostUnresolved(host)


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
    named = False
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        named = True
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host)]
        except HostUnresolved:
            if require_resolution:
                raise CallbackRefused(f"the callback host {host} does not resolve") from None
            return
    for address in addresses:
        check_address(address, allowed, named=named)
