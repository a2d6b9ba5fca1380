"""Which webhook URLs are refused, decided without a network: the resolver is a table."""

from __future__ import annotations

import pytest

from taskoverflow_events.callback_urls import (
    CallbackRefused,
    HostUnresolved,
    check_callback_url,
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
        ("http://sneaky.example.com/", "10.0.0.5"),
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
