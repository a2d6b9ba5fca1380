"""The boto3 clients every process makes: against an emulator endpoint they ask for keep-alive,
and every request carries the same fixed User-Agent rather than one rebuilt per call."""

import http.server
import threading
from collections.abc import Iterator

import pytest

from taskoverflow_events.aws import USER_AGENT, AwsSettings


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str | None, int]] = []
    agents: list[str | None] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append((self.headers.get("Connection"), id(self.connection)))
        type(self).agents.append(self.headers.get("User-Agent"))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    _Recorder.seen, _Recorder.agents = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_emulator_endpoint_is_asked_to_keep_the_connection(endpoint: str) -> None:
    sqs = AwsSettings(endpoint_url=endpoint, access_key_id="k", secret_access_key="s").client("sqs")
    for _ in range(3):
        sqs.list_queues()
    assert [header for header, _ in _Recorder.seen] == ["keep-alive"] * 3
    assert len({connection for _, connection in _Recorder.seen}) == 1, "one connection, reused"


def test_every_request_carries_the_fixed_user_agent(endpoint: str) -> None:
    sqs = AwsSettings(endpoint_url=endpoint, access_key_id="k", secret_access_key="s").client("sqs")
    sqs.list_queues()
    sqs.list_queues()
    first, second = _Recorder.agents
    assert first == second
    assert first is not None
    assert first.startswith(f"{USER_AGENT} Botocore/")
    assert "ua/2.1" not in first, "not botocore's own, rebuilt per request"
