"""`python -m notifier.worker`: consume calendar outcomes until SIGTERM/SIGINT."""

from __future__ import annotations

from notifier.bootstrap import build_consumer
from notifier.config import Settings
from taskoverflow_events.process import run_consumer


def main() -> None:
    settings = Settings.from_env()
    run_consumer(
        "notifier",
        log_json=settings.log_json,
        log_level=settings.log_level,
        build=lambda: build_consumer(settings),
    )


if __name__ == "__main__":
    main()
