"""An HTTP proxy in front of an AWS emulator that refuses what AWS refuses and moto lets through,
and that can fail calls the way AWS sometimes does.

moto accepts an SNS PublishBatch of any total size and a message of any size, and neither moto nor
LocalStack 2026.3.0 enforces a topic's own MaximumMessageSize or the ten-attribute limit, so a
test against them alone cannot fail where AWS would. Tests that check a quota put this gate in
front of the emulator; it answers as AWS documents (quota_rules.py) and forwards everything else.

Faults on demand, for what no emulator does: `refuse_entries` fails chosen PublishBatch entries
one by one (as SNS reports a KMS or internal error per entry) while the rest of the call goes
through; `outage` answers every call of an action with a 503 after a number of them succeeded.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from taskoverflow_events import quotas
from taskoverflow_testing import quota_rules as rules
from taskoverflow_testing.ports import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
ENTRIES = "PublishBatchRequestEntries.member"


class QuotaGate:
    def __init__(self, upstream_url: str) -> None:
        host, port = upstream_url.removeprefix("http://").rstrip("/").split(":")
        self.upstream = (host, int(port))
        self.port = free_port()
        self.topic_limits: dict[str, int] = {}  # topic ARN -> MaximumMessageSize
        self.refusals: list[str] = []  # codes of what the gate refused, in order
        self.calls: Counter[str] = Counter()  # actions seen, refused or not
        # Given a PublishBatch entry's fields, an error code to fail it with, or None.
        self.refuse_entry: Callable[[dict[str, str]], str | None] = lambda _entry: None
        self._outage: tuple[str, int] | None = None  # (action, calls that still succeed)
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> QuotaGate:
        handler = type("Handler", (_Handler,), {"gate": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def outage(self, action: str, *, after: int = 0) -> None:
        """Every `action` call (e.g. "PublishBatch") after the next `after` fails with a 503."""
        self._outage = (action, self.calls[action] + after)

    def outage_over(self) -> None:
        self._outage = None

    def limit_for(self, topic_arn: str) -> int:
        return self.topic_limits.get(topic_arn, quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES)

    def in_outage(self, action: str) -> bool:
        return (
            self._outage is not None
            and self._outage[0] == action
            and (self.calls[action] > self._outage[1])
        )

    def remember(self, form: dict[str, str], answer: bytes) -> bytes:
        """Record topics' MaximumMessageSize; report it where the emulator forgets it."""
        action = form.get("Action")
        if action == "CreateTopic":
            size = rules.attribute(form, "Attributes.entry", "MaximumMessageSize")
            arn = rules.topic_arn_in(answer)
            if size and arn:
                self.topic_limits[arn] = int(size)
        elif action == "SetTopicAttributes" and form.get("AttributeName") == "MaximumMessageSize":
            self.topic_limits[form["TopicArn"]] = int(form["AttributeValue"])
        elif action == "GetTopicAttributes" and b"MaximumMessageSize" not in answer:
            size = self.topic_limits.get(form.get("TopicArn", ""))
            if size:
                entry = f"<entry><key>MaximumMessageSize</key><value>{size}</value></entry>"
                answer = answer.replace(b"</Attributes>", entry.encode() + b"</Attributes>", 1)
        return answer


class _Handler(BaseHTTPRequestHandler):
    gate: QuotaGate
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        return

    def _any(self) -> None:
        body = self._read_body()
        target = self.headers.get("X-Amz-Target", "")
        form: dict[str, str] = {}
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        action = form.get("Action") or target.rpartition(".")[2]
        self.gate.calls[action] += 1
        if self.gate.in_outage(action):
            self._answer(503, "text/xml", _sns_error("ServiceUnavailable", "Service Unavailable"))
            return
        try:
            if target.startswith("AmazonSQS."):
                rules.check_sqs(target, json.loads(body or b"{}"))
            elif form:
                rules.check_sns(form, self.gate.limit_for(form.get("TopicArn", "")))
        except rules.Refusal as refusal:
            self.gate.refusals.append(refusal.code)
            self._refuse(refusal, sqs=bool(target))
            return
        failed: list[tuple[str, str]] = []
        if form.get("Action") == "PublishBatch":
            body, failed = self._without_refused_entries(form, body)
        status, headers, answer = self._forward(body)
        if form:
            answer = self.gate.remember(form, answer)
        if failed and status == 200:
            answer = _with_failed_entries(answer, failed)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

    def _without_refused_entries(
        self, form: dict[str, str], body: bytes
    ) -> tuple[bytes, list[tuple[str, str]]]:
        """Take the entries `refuse_entry` picks out of the call: (the new body, [(Id, code)])."""
        entries = rules.members(form, ENTRIES)
        picked = [(e, self.gate.refuse_entry(e)) for e in entries]
        failed = [(e["Id"], code) for e, code in picked if code]
        if not failed:
            return body, []
        kept = [e for e, code in picked if not code]
        rest = {k: v for k, v in form.items() if not k.startswith(ENTRIES + ".")}
        for n, entry in enumerate(kept, start=1):
            rest |= {f"{ENTRIES}.{n}.{field}": value for field, value in entry.items()}
        return urlencode(rest).encode(), failed

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.gate.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _refuse(self, refusal: rules.Refusal, *, sqs: bool) -> None:
        if not sqs:
            self._answer(400, "text/xml", _sns_error(refusal.code, refusal.message))
            return
        body = {"__type": f"com.amazonaws.sqs#{refusal.code}", "message": refusal.message}
        self._answer(
            400,
            "application/x-amz-json-1.0",
            json.dumps(body).encode(),
            {"x-amzn-query-error": f"AWS.SimpleQueueService.{refusal.code};Sender"},
        )

    def _answer(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _sns_error(code: str, message: str) -> bytes:
    return (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def _with_failed_entries(answer: bytes, failed: list[tuple[str, str]]) -> bytes:
    """Add Failed members to a PublishBatch answer, however the emulator wrote an empty list
    (`<Failed/>`, `<Failed />`, `<Failed></Failed>`, or none at all)."""
    members = "".join(
        f"<member><Id>{entry_id}</Id><Code>{code}</Code><Message>refused by the quota gate"
        f"</Message><SenderFault>false</SenderFault></member>"
        for entry_id, code in failed
    ).encode()
    answer, count = re.subn(rb"<Failed\s*/>", b"<Failed>" + members + b"</Failed>", answer, count=1)
    if count:
        return answer
    if b"<Failed>" in answer:
        return answer.replace(b"<Failed>", b"<Failed>" + members, 1)
    closing = b"</PublishBatchResult>"
    return answer.replace(closing, b"<Failed>" + members + b"</Failed>" + closing, 1)
