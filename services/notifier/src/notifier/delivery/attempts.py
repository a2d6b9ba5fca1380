"""One claimed attempt, start to end: sign, send (within the deadline), judge, settle, report.

Each attempt is signed with the secrets of the delivery's owner that sign at that moment, derived
from the service's signing key (ADR 11): the owner's current version, and the one before while a
rotation's grace lasts. The key is never itself a signature's secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from notifier.delivery.http_client import WebhookClient
from notifier.delivery.reports import Reporter
from notifier.delivery.schedule import AttemptResult, RetryPolicy, describe
from notifier.store import claims
from notifier.store.tables import DELIVERED, PENDING, now_utc
from notifier.webhooks import signed_headers
from taskoverflow_events.webhook_secrets import signing_secrets

log = structlog.get_logger("notifier.webhooks")

UNSIGNED = "WEBHOOK_SIGNING_KEY is not set; webhooks are not sent"


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        client: WebhookClient,
        policy: RetryPolicy,
        reporter: Reporter,
        *,
        signing_key: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._client = client
        self._policy = policy
        self._reporter = reporter
        self._signing_key = signing_key
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
        if not self._signing_key:
            return AttemptResult(error=UNSIGNED, sent=False, final=True)
        body = claim.body.encode()
        now = self._clock()
        secrets = signing_secrets(
            self._signing_key,
            claim.owner,
            claim.secret_version or 1,
            claim.previous_secret_valid_until,
            now=datetime.fromtimestamp(now, UTC),
        )
        headers = signed_headers(
            secrets,
            body,
            delivery_id=claim.delivery_id,
            event_type=claim.event_type,
            now=now,
        )
        return self._client.post(claim.url, body, headers)
