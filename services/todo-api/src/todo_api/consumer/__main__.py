"""`python -m todo_api.consumer`: apply calendar progress to job status until SIGTERM/SIGINT."""

from __future__ import annotations

from taskoverflow_events import logs
from todo_api.bootstrap import build_consumer
from todo_api.config import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.configure("todo-api.consumer", json=settings.log_json, level=settings.log_level)
    consumer = build_consumer(settings)
    consumer.install_signal_handlers()
    consumer.run()


if __name__ == "__main__":
    main()
