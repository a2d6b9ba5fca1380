"""`python -m ical_worker.worker`: consume the FIFO queue until SIGTERM/SIGINT."""

from __future__ import annotations

from ical_worker.bootstrap import build_consumer
from ical_worker.config import Settings
from taskoverflow_events.process import run_consumer


def main() -> None:
    settings = Settings.from_env()
    run_consumer(
        "ical-worker",
        log_json=settings.log_json,
        log_level=settings.log_level,
        build=lambda: build_consumer(settings),
    )


if __name__ == "__main__":
    main()
