"""Notifier settings, read from the environment once; defaults serve `make run`.

WEBHOOK_SECRET has no default in the code: `make run` generates one per run, and a deployment
injects its own (Secrets Manager on AWS). Without one, webhooks are not sent and CalendarReady
says so; nothing is signed with a guessable key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from taskoverflow_events.callback_urls import IpNetwork, parse_networks
from taskoverflow_events.process import ProcessSettings, common_settings

DEFAULT_DATABASE_URL = "sqlite:///.data/notifier.db"


@dataclass(frozen=True, slots=True)
class Settings(ProcessSettings):
    database_url: str = DEFAULT_DATABASE_URL
    queue: str = "notifier-calendar-events"
    calendar_topic: str = "calendar-events"
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_timeout_seconds: float = 5.0
    webhook_attempts: int = 4
    webhook_backoff_seconds: float = 0.5
    public_api_url: str | None = None
    callback_allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            **common_settings(env),
            database_url=env.get("NOTIFIER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            queue=env.get("NOTIFIER_QUEUE", "notifier-calendar-events"),
            calendar_topic=env.get("CALENDAR_EVENTS_TOPIC", "calendar-events"),
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT_SECONDS", "5")),
            webhook_attempts=int(env.get("WEBHOOK_ATTEMPTS", "4")),
            webhook_backoff_seconds=float(env.get("WEBHOOK_BACKOFF_SECONDS", "0.5")),
            public_api_url=env.get("PUBLIC_URL") or None,
            callback_allowed_networks=parse_networks(env.get("CALLBACK_ALLOWED_NETWORKS")),
        )
