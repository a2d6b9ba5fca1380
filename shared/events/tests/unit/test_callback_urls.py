"""Which webhook URLs are refused, decided without a network: the resolver is a table."""

from __future__ import annotations

import pytest

from taskoverflow_events.callback_urls import (
    CallbackRefused,
    HostUnresolved,
    check_callback_url,
    no_lookup,
    parse_networks,
)

DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "sneaky.example.com": ["93.184.216.34", "10.0.0.5"],
    "localhost": ["127.0.0.1", "::1"],
}


def resolver(host: str) -> list[str]:
    if host not in DNS:
        raise HostUnresolved(host)
    return DNS[host]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/x",
        "http://93.184.216.34:8080/hook?a=1",
        "https://[2606:4700::1111]/h",
        "https://not-yet-in-dns.example.org/h",
    ],
)
def test_public_hosts_are_accepted(url: str) -> None:
    check_callback_url(url, resolver=resolver)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "http(s)"),
        ("https:///nohost", "http(s)"),
        ("http://user:pw@hooks.example.com/", "credentials"),
        ("http://127.0.0.1:9/hook", "127.0.0.1"),
        ("http://localhost/hook", "internal"),
        ("http://[::1]/hook", "::1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://192.168.0.1/", "internal"),
        ("http://172.16.0.1/", "internal"),
        ("http://0.0.0.0/", "internal"),
        ("http://[::ffff:127.0.0.1]/", "internal"),
        ("http://[fe80::1]/", "internal"),
        ("http://sneaky.example.com/", "internal"),
        ("http://hooks.example.com:99999/", "valid URL"),
        ("https://h.example.com/" + "a" * 2000, "2000"),
    ],
)
def test_internal_and_malformed_targets_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(CallbackRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_callback_url(url, resolver=resolver)


def test_an_allowed_network_lets_its_addresses_through() -> None:
    loopback = parse_networks("127.0.0.0/8, ::1/128")
    check_callback_url("http://127.0.0.1:9/hook", loopback, resolver=resolver)
    check_callback_url("http://localhost/hook", loopback, resolver=resolver)
    with pytest.raises(CallbackRefused):
        check_callback_url("http://10.1.2.3/", loopback, resolver=resolver)


def test_the_delivery_check_refuses_a_name_that_no_longer_resolves() -> None:
    with pytest.raises(CallbackRefused, match="does not resolve"):
        check_callback_url("https://gone.example.org/h", resolver=resolver, require_resolution=True)


def test_a_bad_network_setting_fails_loudly() -> None:
    with pytest.raises(ValueError, match="33"):
        parse_networks("127.0.0.0/33")


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.1",  # "this network"
        "10.0.0.1",  # private
        "100.64.0.1",  # shared address space (carrier-grade NAT), often internal to a cloud
        "100.127.255.254",
        "127.0.0.2",  # loopback
        "169.254.169.254",  # link-local: the cloud metadata service
        "172.31.255.1",  # private
        "192.0.0.8",  # IETF protocol assignments
        "192.0.2.1",  # documentation
        "192.168.1.1",  # private
        "198.18.0.1",  # benchmarking
        "198.51.100.1",  # documentation
        "203.0.113.1",  # documentation
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",  # broadcast
        "::",  # unspecified
        "::1",  # loopback
        "fe80::1",  # link-local
        "fc00::1",  # unique local
        "fd12:3456::1",  # unique local
        "ff02::1",  # multicast
        "2001:db8::1",  # documentation
        "100::1",  # discard-only
        "::ffff:169.254.169.254",  # IPv4-mapped metadata address
        "::ffff:100.64.0.1",  # IPv4-mapped shared address space
        "2002:a00:1::1",  # 6to4 carrying 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 carrying 169.254.169.254
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "::a9fe:a9fe",  # IPv4-compatible (deprecated) form of 169.254.169.254
        "::7f00:1",  # IPv4-compatible loopback
        "::ffff:0:a9fe:a9fe",  # SIIT-translated 169.254.169.254
        "5f00::1",  # reserved, outside global unicast
        "fec0::1",  # site-local (deprecated)
        "3fff::1",  # documentation (RFC 9637)
    ],
)
def test_every_range_that_is_not_globally_routable_is_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(CallbackRefused, match="internal address"):
        check_callback_url(f"http://{host}/hook")


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_globally_routable_neighbours_of_refused_ranges_are_accepted(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    check_callback_url(f"http://{host}/hook")


def test_a_refused_name_does_not_tell_the_caller_what_it_resolves_to() -> None:
    """The caller wrote a name; what our DNS answers for it inside the network is not theirs."""
    with pytest.raises(CallbackRefused) as refused:
        check_callback_url("http://sneaky.example.com/", resolver=resolver)
    assert "10.0.0.5" not in str(refused.value)
    assert "93.184.216.34" not in str(refused.value)


def test_without_a_lookup_a_name_passes_and_a_literal_is_still_checked() -> None:
    """todo-api's check in the request's thread: no DNS, so no slow name server can hold it."""
    check_callback_url("http://sneaky.example.com/", resolver=no_lookup)
    with pytest.raises(CallbackRefused, match=r"10\.1\.2\.3 is an internal address"):
        check_callback_url("http://10.1.2.3/", resolver=no_lookup)
