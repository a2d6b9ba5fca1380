"""One attempt against real receivers on 127.0.0.1: the total deadline, redirects, the capped
read, and where the connection goes (the resolved, checked address; the hostname kept for the
Host header and TLS)."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from notifier.delivery.http_client import MAX_RESPONSE_BYTES, WebhookClient
from notifier.delivery.schedule import RetryPolicy

from taskoverflow_events.callback_urls import check_callback_url, parse_networks

Receivers = Callable[..., Any]
LOOPBACK = parse_networks("127.0.0.0/8")
BODY = b'{"job_id":"j"}'
HEADERS = {"Content-Type": "application/json"}


def client(deadline: float = 2.0, **options: Any) -> WebhookClient:
    return WebhookClient(deadline_seconds=deadline, allowed_networks=LOOPBACK, **options)


@pytest.mark.parametrize("every", [0.2, 0.04], ids=["in-the-status-line", "in-the-headers"])
def test_a_receiver_that_keeps_dripping_bytes_is_cut_off_at_the_deadline(
    receivers: Receivers, every: float
) -> None:
    """A byte every so often never trips a per-read timeout; only the total deadline ends the
    attempt, and a status line that came in time does not count without its headers."""
    drip = receivers(["drip"], drip_every=every, hold_for=5)
    started = time.monotonic()
    result = client(deadline=1.0).post(drip.url, BODY, HEADERS)
    elapsed = time.monotonic() - started
    assert result.status_code is None
    assert result.error == "no answer within the 1 s deadline"
    assert 0.9 <= elapsed < 3.0, elapsed  # the drip would go on for 5 s
    time.sleep(0.5)
    assert drip.open_now == 0, "the connection was closed, not left to the receiver"


def test_dns_that_does_not_answer_is_cut_off_at_the_deadline() -> None:
    def slow_resolver(_host: str) -> list[str]:
        time.sleep(5)
        return ["127.0.0.1"]

    started = time.monotonic()
    result = client(deadline=0.5, resolver=slow_resolver).post(
        "http://hooks.example.test/x", BODY, HEADERS
    )
    assert result.error == "no answer within the 0.5 s deadline"
    assert time.monotonic() - started < 3.0  # the resolver takes 5 s


def test_a_redirect_is_not_followed(receivers: Receivers) -> None:
    elsewhere = receivers([204])
    redirecting = receivers([(302, {"Location": elsewhere.url}, b"")])
    result = client().post(redirecting.url, BODY, HEADERS)
    assert result.status_code == 302
    time.sleep(0.3)
    assert elsewhere.seen == []
    verdict = RetryPolicy(attempts=5).judge(result, 1, dt.datetime(2026, 1, 1))
    assert verdict.state == "failed", "a redirect ends the delivery"


def test_only_the_start_of_a_response_body_is_read(receivers: Receivers) -> None:
    endless = receivers(["endless"])
    started = time.monotonic()
    result = client(deadline=5.0).post(endless.url, BODY, HEADERS)
    assert result.status_code == 200
    assert len(result.body) == MAX_RESPONSE_BYTES
    assert time.monotonic() - started < 4.0, "it did not read on to the 5 s deadline"


def test_the_connection_goes_to_the_checked_address_with_the_hostname_kept(
    receivers: Receivers,
) -> None:
    hook = receivers([204])
    looked_up: list[str] = []

    def resolver(host: str) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    url = f"http://hooks.example.test:{hook.port}/hooks/calendar?x=1"
    result = client(resolver=resolver).post(url, BODY, HEADERS)
    assert result.status_code == 204
    assert looked_up == ["hooks.example.test"], "resolved once"
    [request] = hook.seen
    assert request.headers["host"] == f"hooks.example.test:{hook.port}"
    assert request.path == "/hooks/calendar?x=1"
    assert request.body == BODY


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1", "169.254.169.254"], ["10.0.0.7"], ["127.0.0.1"]],
    ids=["one-of-them-internal", "private", "loopback-not-allowed"],
)
def test_a_name_that_resolves_to_an_internal_address_is_refused_without_connecting(
    receivers: Receivers, addresses: list[str]
) -> None:
    hook = receivers([204])
    allowed = LOOPBACK if addresses[0] == "127.0.0.1" and len(addresses) > 1 else ()
    guarded = WebhookClient(
        deadline_seconds=2.0, allowed_networks=allowed, resolver=lambda _host: addresses
    )
    result = guarded.post(f"http://hooks.example.test:{hook.port}/", BODY, HEADERS)
    assert result.final
    assert not result.sent
    assert result.error is not None
    assert result.error.startswith("refused: ")
    time.sleep(0.3)
    assert hook.seen == []


def test_dns_rebinding_cannot_steer_the_connection_inside(receivers: Receivers) -> None:
    """The checks see 127.0.0.2 for `localhost` (the resolver the notifier is given answers so,
    and only 127.0.0.2 is allowed), while the machine's own resolver says 127.0.0.1, where
    another receiver listens on the same port. A client that resolved the name again to
    connect, through any resolver, would reach that one; the request must reach the checked
    address, with the name kept in the Host header. Nothing leaves the machine."""
    inside = receivers([204])
    checked = receivers([204], host="127.0.0.2", bind_port=inside.port)
    lookups: list[str] = []

    def checked_answer(host: str) -> list[str]:
        lookups.append(host)
        return ["127.0.0.2"]

    only_checked = parse_networks("127.0.0.2/32")
    guarded = WebhookClient(
        deadline_seconds=2.0, allowed_networks=only_checked, resolver=checked_answer
    )
    result = guarded.post(f"http://localhost:{inside.port}/", BODY, HEADERS)
    assert result.status_code == 204, result
    assert lookups == ["localhost"], "resolved once, by the resolver whose answer was checked"
    [request] = checked.wait_for(1, timeout=2)
    assert request.headers["host"] == f"localhost:{inside.port}"
    time.sleep(0.3)
    assert inside.seen == [], "nothing reached the address the name resolves to otherwise"


def test_a_name_that_turns_internal_after_the_request_is_refused(receivers: Receivers) -> None:
    """The same DNS the other way round: public when the job is asked for, loopback by the
    time the notifier delivers. The notifier's own check refuses it."""
    hook = receivers([204])
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    url = f"http://rebind.example.test:{hook.port}/"
    check_callback_url(url, resolver=lambda _host: next(answers))
    notifier = WebhookClient(deadline_seconds=2.0, resolver=lambda _host: next(answers))
    result = notifier.post(url, BODY, HEADERS)
    assert result.error is not None, result
    assert result.error.startswith("refused: the callback host resolves to an internal address")
    assert "127.0.0.1" not in result.error, "what a name resolves to inside is not told"
    time.sleep(0.3)
    assert hook.seen == []


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("certified", ["hooks.example.test", "someone-else.test"])
def test_tls_names_the_host_and_checks_its_certificate_against_it(
    receivers: Receivers, tmp_path: Path, certified: str
) -> None:
    cert, key = _certificate(tmp_path, certified)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    hook = receivers([204], tls=server)
    trusting = ssl.create_default_context(cafile=str(cert))
    url = f"https://hooks.example.test:{hook.port}/hooks/calendar"
    result = client(resolver=lambda _host: ["127.0.0.1"], ssl_context=trusting).post(
        url, BODY, HEADERS
    )
    assert hook.server_names == ["hooks.example.test"], "SNI is the URL's host"
    if certified == "hooks.example.test":
        assert result.status_code == 204
        assert hook.seen[0].headers["host"] == f"hooks.example.test:{hook.port}"
    else:
        assert result.status_code is None
        assert "CERTIFICATE_VERIFY_FAILED" in (result.error or ""), result.error
        assert hook.seen == []
