"""todo-api settings, read from the environment once per process.

The defaults are what `make run` needs (SQLite under .data/, moto on 127.0.0.1:4566 via
AWS_ENDPOINT_URL set by the Makefile) and hold no secrets. Tests build Settings from a mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from taskoverflow_events.callback_urls import IpNetwork, parse_networks
from taskoverflow_events.metrics import DEFAULT_NAMESPACE
from taskoverflow_events.process import ProcessSettings, common_settings
from taskoverflow_events.webhook_secrets import check_signing_key

DEFAULT_DATABASE_URL = "sqlite:///.data/todo-api.db"
AUTH_MODES = ("none", "token")
MIN_RETENTION_DAYS = 15
# An Idempotency-Key claim still unanswered after this long is presumed dead and may be taken
# over (api/idempotency.py). A request runs a few statements, so each statement of the web
# process, and each of its lock waits, is held to at most half of it.
IDEMPOTENCY_CLAIM_STALE_SECONDS = 60.0
MAX_WEB_TIMEOUT_SECONDS = IDEMPOTENCY_CLAIM_STALE_SECONDS / 2
# A job's webhook whose fate is unknown this long after the job was asked for no longer counts
# against OPEN_JOBS_PER_OWNER: above JOB_DEADLINE_SECONDS' 600 plus the notifier's longest
# delivery (6 attempts of 10 s, waits of up to 300 s between them: 26 minutes).
DEFAULT_NOTIFICATION_DEADLINE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Settings(ProcessSettings):
    database_url: str = DEFAULT_DATABASE_URL
    todo_topic: str = "todo-events.fifo"
    calendar_queue: str = "todo-api-calendar-events"
    calendar_bucket: str = "taskoverflow-calendars"
    public_url: str | None = None
    default_owner: str = "default"
    # none: one implicit owner (the classic contract); token: a bearer token per owner.
    auth_mode: str = "none"
    # What other services (the ical-worker) present to read any owner's event feed.
    service_token: str | None = field(default=None, repr=False)
    # Owners' webhook secrets are derived from this (ADR 11). Only the owners CLI needs it, to
    # show an owner its secret; the web, relay and consumer processes are not given it.
    webhook_signing_key: str | None = field(default=None, repr=False)
    # After a rotation the previous webhook secret signs too, this long (Stripe's default: 24 h).
    webhook_secret_grace_seconds: float = 86400.0
    callback_allowed_networks: tuple[IpNetwork, ...] = ()
    port: int = 6400
    relay_batch_size: int = 100
    relay_owners_per_pass: int = 10
    relay_idle_seconds: float = 0.05
    relay_max_backoff_seconds: float = 5.0
    relay_lease_seconds: float = 10.0
    relay_lag_report_seconds: float = 15.0
    # Queues (names without the prefix) whose depth holds the relay's changes back (ADR 15):
    # none on AWS; `make run` names the worker's changes queue, which moto slows as it deepens.
    # The depth is about three receives' worth, so the worker never waits for the relay.
    relay_backpressure_queues: tuple[str, ...] = ()
    relay_backpressure_depth: int = 30
    metrics_namespace: str = DEFAULT_NAMESPACE
    # Status long-polls waiting at once in one web process, in all and per owner: keep the total
    # below the server's threads (gunicorn: 16 per worker) so health checks always find one.
    long_poll_max: int = 8
    long_poll_max_per_owner: int = 2
    # A calendar job not finished this long after it was asked for is failed, with a reason.
    job_deadline_seconds: float = 600.0
    # Bookkeeping (handled event ids, finished jobs) is kept this many days; above SQS's 14-day
    # maximum retention, so a redelivered message is still recognised.
    retention_days: int = 30
    # Per owner, across every web process (docs/operating/limits.md); 0 turns a limit off.
    # Each allows a minute's worth at once, then refills evenly over the minute.
    rate_limit_writes_per_minute: int = 1200
    rate_limit_calendars_per_minute: int = 120
    open_jobs_per_owner: int = 100
    # A job with a callback stays open until CalendarReady reports its webhook, or this long.
    notification_deadline_seconds: float = DEFAULT_NOTIFICATION_DEADLINE_SECONDS
    # How long an Idempotency-Key's answer is kept and replayed (Stripe keeps 24 hours).
    idempotency_retention_hours: int = 24
    # The web process's longest statement and longest lock wait (PostgreSQL): a request stuck
    # behind another answers 503 in time instead of hanging past the idempotency claim's
    # staleness, which would let a retry with its key take the claim over while it still works.
    web_statement_timeout_seconds: float = 20.0
    web_lock_timeout_seconds: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            **common_settings(env),
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            todo_topic=env.get("TODO_EVENTS_TOPIC", "todo-events.fifo"),
            calendar_queue=env.get("CALENDAR_EVENTS_QUEUE", "todo-api-calendar-events"),
            calendar_bucket=env.get("CALENDAR_BUCKET", "taskoverflow-calendars"),
            public_url=env.get("PUBLIC_URL") or None,
            default_owner=env.get("DEFAULT_OWNER", "default"),
            auth_mode=env.get("AUTH_MODE", "none"),
            service_token=env.get("SERVICE_TOKEN") or None,
            webhook_signing_key=env.get("WEBHOOK_SIGNING_KEY") or None,
            webhook_secret_grace_seconds=float(env.get("WEBHOOK_SECRET_GRACE_SECONDS", "86400")),
            callback_allowed_networks=parse_networks(env.get("CALLBACK_ALLOWED_NETWORKS")),
            port=int(env.get("PORT", "6400")),
            relay_batch_size=int(env.get("RELAY_BATCH_SIZE", "100")),
            relay_owners_per_pass=int(env.get("RELAY_OWNERS_PER_PASS", "10")),
            relay_idle_seconds=float(env.get("RELAY_IDLE_SECONDS", "0.05")),
            relay_max_backoff_seconds=float(env.get("RELAY_MAX_BACKOFF_SECONDS", "5")),
            relay_lease_seconds=float(env.get("RELAY_LEASE_SECONDS", "10")),
            relay_lag_report_seconds=float(env.get("RELAY_LAG_REPORT_SECONDS", "15")),
            relay_backpressure_queues=tuple(
                q.strip() for q in env.get("RELAY_BACKPRESSURE_QUEUES", "").split(",") if q.strip()
            ),
            relay_backpressure_depth=int(env.get("RELAY_BACKPRESSURE_DEPTH", "30")),
            metrics_namespace=env.get("METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
            long_poll_max=int(env.get("LONG_POLL_MAX", "8")),
            long_poll_max_per_owner=int(env.get("LONG_POLL_MAX_PER_OWNER", "2")),
            job_deadline_seconds=float(env.get("JOB_DEADLINE_SECONDS", "600")),
            retention_days=int(env.get("RETENTION_DAYS", "30")),
            rate_limit_writes_per_minute=int(env.get("RATE_LIMIT_WRITES_PER_MINUTE", "1200")),
            rate_limit_calendars_per_minute=int(env.get("RATE_LIMIT_CALENDARS_PER_MINUTE", "120")),
            open_jobs_per_owner=int(env.get("OPEN_JOBS_PER_OWNER", "100")),
            notification_deadline_seconds=float(
                env.get("NOTIFICATION_DEADLINE_SECONDS", str(DEFAULT_NOTIFICATION_DEADLINE_SECONDS))
            ),
            idempotency_retention_hours=int(env.get("IDEMPOTENCY_RETENTION_HOURS", "24")),
            web_statement_timeout_seconds=float(env.get("WEB_STATEMENT_TIMEOUT_SECONDS", "20")),
            web_lock_timeout_seconds=float(env.get("WEB_LOCK_TIMEOUT_SECONDS", "20")),
        )

    def __post_init__(self) -> None:
        if self.retention_days < MIN_RETENTION_DAYS:
            raise ValueError(
                f"RETENTION_DAYS must be at least {MIN_RETENTION_DAYS}: SQS keeps a message up to"
                " 14 days, and its id must still be known when it comes back"
            )
        if self.webhook_signing_key is not None:
            check_signing_key(self.webhook_signing_key)
        if self.webhook_secret_grace_seconds < 0:
            raise ValueError("WEBHOOK_SECRET_GRACE_SECONDS must not be negative")
        limits = {
            "RATE_LIMIT_WRITES_PER_MINUTE": self.rate_limit_writes_per_minute,
            "RATE_LIMIT_CALENDARS_PER_MINUTE": self.rate_limit_calendars_per_minute,
            "OPEN_JOBS_PER_OWNER": self.open_jobs_per_owner,
        }
        for name, value in limits.items():
            if value < 0:
                raise ValueError(f"{name} must be 0 (no limit) or more, not {value}")
        if self.relay_backpressure_depth < 1:
            raise ValueError(
                f"RELAY_BACKPRESSURE_DEPTH must be at least 1, not {self.relay_backpressure_depth}"
            )
        if self.notification_deadline_seconds <= 0:
            raise ValueError("NOTIFICATION_DEADLINE_SECONDS must be more than 0")
        if self.idempotency_retention_hours < 1:
            raise ValueError("IDEMPOTENCY_RETENTION_HOURS must be at least 1")
        timeouts = {
            "WEB_STATEMENT_TIMEOUT_SECONDS": self.web_statement_timeout_seconds,
            "WEB_LOCK_TIMEOUT_SECONDS": self.web_lock_timeout_seconds,
        }
        for name, seconds in timeouts.items():
            if not 0 < seconds <= MAX_WEB_TIMEOUT_SECONDS:
                raise ValueError(
                    f"{name} must be more than 0 and at most {MAX_WEB_TIMEOUT_SECONDS:g}, half the"
                    f" {IDEMPOTENCY_CLAIM_STALE_SECONDS:g} s after which an unanswered"
                    " Idempotency-Key is taken over"
                )
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(
                f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {self.auth_mode!r}"
            )
