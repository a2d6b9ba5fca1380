"""One claimed attempt, start to end: sign, send (within the deadline), judge, settle, report."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from sqlalchemy import Engine

from notifier.delivery.http_client import WebhookClient
from notifier.delivery.reports import Reporter
from notifier.delivery.schedule import AttemptResult, RetryPolicy, describe
from notifier.store import claims
from notifier.store.tables import DELIVERED, PENDING, now_utc
from notifier.webhooks import signed_headers

log = structlog.get_logger("notifier.webhooks")

UNSIGNED = "WEBHOOK_SECRET is not set; webhooks are not sent"


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        client: WebhookClient,
        policy: RetryPolicy,
        reporter: Reporter,
        *,
        secret: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._client = client
        self._policy = policy
        self._reporter = reporter
        self._secret = secret
        self._clock = clock

    def attempt(self, claim: claims.Claim) -> None:
        context = {
            "delivery_id": claim.delivery_id,
            "owner": claim.owner,
            "job_id": claim.job_id,
            "attempt": claim.attempts,
        }
        with structlog.contextvars.bound_contextvars(**context):
            started = time.monotonic()
            result = self._send(claim)
            now = now_utc()
            verdict = self._policy.judge(result, claim.attempts, now)
            with self._engine.begin() as conn:
                kept = claims.settle(
                    conn,
                    claim,
                    state=verdict.state,
                    status_code=result.status_code,
                    error=describe(result),
                    retry_at=verdict.retry_at,
                    sent=result.sent,
                    now=now,
                )
            fields = {
                "url": claim.url,
                "status_code": result.status_code,
                "error": describe(result),
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
            if not kept:
                log.warning("claim expired during the attempt; its outcome is dropped", **fields)
            elif verdict.state == PENDING:
                log.info("webhook attempt failed; will retry", retry_at=verdict.retry_at, **fields)
            else:
                delivered = verdict.state == DELIVERED
                log.info("webhook delivered" if delivered else "webhook given up", **fields)
                self._reporter.report(claim.delivery_id)

    def _send(self, claim: claims.Claim) -> AttemptResult:
        if not self._secret:
            return AttemptResult(error=UNSIGNED, sent=False, final=True)
        body = claim.body.encode()
        headers = signed_headers(
            self._secret,
            body,
            delivery_id=claim.delivery_id,
            event_type=claim.event_type,
            now=self._clock(),
        )
        return self._client.post(claim.url, body, headers)
