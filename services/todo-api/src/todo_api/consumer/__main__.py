"""`python -m todo_api.consumer`: apply calendar progress to job status until SIGTERM/SIGINT."""

from __future__ import annotations

from taskoverflow_events.process import run_consumer
from todo_api.bootstrap import build_consumer
from todo_api.config import Settings


def main() -> None:
    settings = Settings.from_env()
    run_consumer(
        "todo-api.consumer",
        log_json=settings.log_json,
        log_level=settings.log_level,
        build=lambda: build_consumer(settings),
    )


if __name__ == "__main__":
    main()
