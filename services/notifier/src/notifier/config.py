"""Notifier settings, read from the environment once; defaults serve `make run`.

WEBHOOK_SIGNING_KEY has no default in the code: `make run` generates one (kept in .data/), and a
deployment injects its own (Secrets Manager on AWS). Each owner's webhooks are signed with that
owner's own secret, derived from this key (ADR 11, taskoverflow_events.webhook_secrets); the key
itself is never a webhook secret. Without it, webhooks are not sent and CalendarReady says so;
nothing is signed with a guessable key. It replaces WEBHOOK_SECRET, the one secret every owner
shared and so every receiver knew: that value must never become the key.

Webhook delivery is bounded everywhere (DESIGN.md, "Many owners"): each attempt has a total
wall-clock deadline, at most WEBHOOK_CONCURRENCY attempts run at once and at most
WEBHOOK_PER_OWNER of them for one owner, and a delivery ends after WEBHOOK_ATTEMPTS attempts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from taskoverflow_events.callback_urls import IpNetwork, parse_networks
from taskoverflow_events.process import ProcessSettings, common_settings
from taskoverflow_events.webhook_secrets import check_signing_key

DEFAULT_DATABASE_URL = "sqlite:///.data/notifier.db"
MIN_RETENTION_DAYS = 15
# How much longer than its deadline a claimed attempt may take before another process may take
# it over: time to record the outcome after the deadline cut the attempt off.
LEASE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Settings(ProcessSettings):
    database_url: str = DEFAULT_DATABASE_URL
    queue: str = "notifier-calendar-events"
    calendar_topic: str = "calendar-events"
    webhook_signing_key: str | None = field(default=None, repr=False)
    # One attempt's whole life: DNS, connect, TLS, sending, and the status line and headers.
    webhook_deadline_seconds: float = 10.0
    # Attempts per delivery, the first included; then it ends as failed.
    webhook_attempts: int = 6
    # The wait after the first failed attempt; it doubles after each (with jitter) up to the cap,
    # which also caps how long a receiver's Retry-After can make us wait.
    webhook_backoff_seconds: float = 1.0
    webhook_backoff_max_seconds: float = 300.0
    webhook_concurrency: int = 8
    webhook_per_owner: int = 2
    # How long a claimed attempt is this process's alone; a crashed process's claim then expires
    # and the attempt is made again (at least once).
    webhook_lease_seconds: float = 60.0
    public_api_url: str | None = None
    callback_allowed_networks: tuple[IpNetwork, ...] = ()
    # Finished deliveries are kept this many days; above SQS's 14-day maximum retention, so a
    # redelivered message still finds its delivery and sends nothing twice.
    retention_days: int = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        # WEBHOOK_TIMEOUT_SECONDS is the older name; it now bounds the whole attempt.
        deadline = env.get("WEBHOOK_DEADLINE_SECONDS") or env.get("WEBHOOK_TIMEOUT_SECONDS")
        key = env.get("WEBHOOK_SIGNING_KEY") or None
        if key is not None and key == env.get("WEBHOOK_SECRET"):
            raise ValueError(
                "WEBHOOK_SIGNING_KEY must be a fresh key, not the old WEBHOOK_SECRET: every"
                " receiver knew that one, and with the key it could derive every owner's secret"
            )
        return cls(
            **common_settings(env),
            database_url=env.get("NOTIFIER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            queue=env.get("NOTIFIER_QUEUE", "notifier-calendar-events"),
            calendar_topic=env.get("CALENDAR_EVENTS_TOPIC", "calendar-events"),
            webhook_signing_key=key,
            webhook_deadline_seconds=float(deadline or "10"),
            webhook_attempts=int(env.get("WEBHOOK_ATTEMPTS", "6")),
            webhook_backoff_seconds=float(env.get("WEBHOOK_BACKOFF_SECONDS", "1")),
            webhook_backoff_max_seconds=float(env.get("WEBHOOK_BACKOFF_MAX_SECONDS", "300")),
            webhook_concurrency=int(env.get("WEBHOOK_CONCURRENCY", "8")),
            webhook_per_owner=int(env.get("WEBHOOK_PER_OWNER", "2")),
            webhook_lease_seconds=float(env.get("WEBHOOK_LEASE_SECONDS", "60")),
            public_api_url=env.get("PUBLIC_URL") or None,
            callback_allowed_networks=parse_networks(env.get("CALLBACK_ALLOWED_NETWORKS")),
            retention_days=int(env.get("RETENTION_DAYS", "30")),
        )

    def __post_init__(self) -> None:
        if self.webhook_signing_key is not None:
            check_signing_key(self.webhook_signing_key)
        if self.retention_days < MIN_RETENTION_DAYS:
            raise ValueError(
                f"RETENTION_DAYS must be at least {MIN_RETENTION_DAYS}: SQS keeps a message up to"
                " 14 days, and its delivery must still be known when it comes back"
            )
        for name in ("webhook_attempts", "webhook_concurrency", "webhook_per_owner"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.upper()} must be at least 1")
        if self.webhook_deadline_seconds <= 0 or self.webhook_backoff_seconds < 0:
            raise ValueError("WEBHOOK_DEADLINE_SECONDS must be positive, the backoff not negative")
        if self.webhook_backoff_max_seconds < self.webhook_backoff_seconds:
            raise ValueError("WEBHOOK_BACKOFF_MAX_SECONDS must be at least WEBHOOK_BACKOFF_SECONDS")
        if self.webhook_lease_seconds < self.webhook_deadline_seconds + LEASE_MARGIN_SECONDS:
            raise ValueError(
                "WEBHOOK_LEASE_SECONDS must exceed WEBHOOK_DEADLINE_SECONDS by at least"
                f" {LEASE_MARGIN_SECONDS:g} s, or a slow attempt's claim could expire under it"
            )
