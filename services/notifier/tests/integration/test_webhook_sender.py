"""WebhookSender against a real HTTP receiver on 127.0.0.1."""

import time

from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, WebhookSender, verify

from taskoverflow_testing.http_servers import webhook_receiver
from taskoverflow_testing.ports import free_port

SECRET = "integration-secret"


def sender(attempts: int = 4) -> WebhookSender:
    return WebhookSender(SECRET, timeout=2, attempts=attempts, backoff=0.01)


def test_a_signed_post_is_delivered_once() -> None:
    with webhook_receiver([204]) as hook:
        result = sender().send(
            hook.url, b'{"a":1}', delivery_id="d-1", event_type="CalendarGenerated"
        )
    assert (result.delivered, result.attempts, result.status_code) == (True, 1, 204)
    [request] = hook.received
    assert request.headers[DELIVERY_HEADER] == "d-1"
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.body, now=time.time())


def test_server_errors_are_retried_with_backoff_until_success() -> None:
    with webhook_receiver([503, 500, 200]) as hook:
        result = sender().send(hook.url, b"{}", delivery_id="d-2", event_type="E")
    assert (result.delivered, result.attempts) == (True, 3)
    assert {r.headers[DELIVERY_HEADER] for r in hook.received} == {"d-2"}


def test_a_client_error_is_final() -> None:
    with webhook_receiver([410]) as hook:
        result = sender().send(hook.url, b"{}", delivery_id="d-3", event_type="E")
    assert (result.delivered, result.attempts, result.status_code) == (False, 1, 410)


def test_an_unreachable_receiver_is_tried_a_bounded_number_of_times() -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    result = sender(attempts=3).send(url, b"{}", delivery_id="d-4", event_type="E")
    assert (result.delivered, result.attempts, result.status_code) == (False, 3, None)
