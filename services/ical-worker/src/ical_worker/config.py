"""ical-worker settings, read from the environment once; defaults serve `make run`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from taskoverflow_events.process import ProcessSettings, common_settings

DEFAULT_DATABASE_URL = "sqlite:///.data/ical-worker.db"


@dataclass(frozen=True, slots=True)
class Settings(ProcessSettings):
    database_url: str = DEFAULT_DATABASE_URL
    queue: str = "ical-worker-todo-events.fifo"  # owners' changes
    requests_queue: str = "ical-worker-calendar-requests.fifo"  # calendar requests (ADR 14)
    calendar_topic: str = "calendar-events"
    bucket: str = "taskoverflow-calendars"
    todo_api_url: str = "http://127.0.0.1:6400"
    # todo-api's SERVICE_TOKEN: lets the worker read any owner's event feed under AUTH_MODE=token.
    todo_api_token: str | None = field(default=None, repr=False)
    give_up_after_receives: int = 4
    # At most one rewrite of an owner's live feed per this many seconds; 0 rewrites per batch.
    feed_refresh_seconds: float = 1.0
    # How often the feeds in S3 are listed, to render again any that went missing (one
    # ListObjectsV2 call per thousand owners); todo-api answers 503 for a missing feed meanwhile.
    feed_sweep_seconds: float = 300.0
    # How long a replaced VEVENT version is kept, so a calendar asked of an earlier point of the
    # stream renders from the projection (older than that: folded from the feed, slowly).
    version_history_seconds: float = 3600.0
    # Rendered jobs are remembered this many days (above SQS's 14-day maximum retention, so a
    # redelivered request still finds its render).
    retention_days: int = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            **common_settings(env),
            database_url=env.get("ICAL_WORKER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            queue=env.get("ICAL_WORKER_QUEUE", "ical-worker-todo-events.fifo"),
            requests_queue=env.get(
                "ICAL_WORKER_REQUESTS_QUEUE", "ical-worker-calendar-requests.fifo"
            ),
            calendar_topic=env.get("CALENDAR_EVENTS_TOPIC", "calendar-events"),
            bucket=env.get("CALENDAR_BUCKET", "taskoverflow-calendars"),
            todo_api_url=env.get("TODO_API_URL", "http://127.0.0.1:6400"),
            todo_api_token=env.get("TODO_API_TOKEN") or None,
            give_up_after_receives=int(env.get("GIVE_UP_AFTER_RECEIVES", "4")),
            feed_refresh_seconds=float(env.get("FEED_REFRESH_SECONDS", "1")),
            feed_sweep_seconds=float(env.get("FEED_SWEEP_SECONDS", "300")),
            version_history_seconds=float(env.get("VERSION_HISTORY_SECONDS", "3600")),
            retention_days=int(env.get("RETENTION_DAYS", "30")),
        )

    def __post_init__(self) -> None:
        if self.retention_days < 15:
            raise ValueError("RETENTION_DAYS must be at least 15: SQS keeps a message 14 days")
