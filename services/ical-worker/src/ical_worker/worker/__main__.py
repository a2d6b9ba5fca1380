"""`python -m ical_worker.worker`: consume the FIFO queue until SIGTERM/SIGINT."""

from __future__ import annotations

from ical_worker.bootstrap import build_consumer
from ical_worker.config import Settings
from taskoverflow_events import logs


def main() -> None:
    settings = Settings.from_env()
    logs.configure("ical-worker", json=settings.log_json, level=settings.log_level)
    consumer = build_consumer(settings)
    consumer.install_signal_handlers()
    consumer.run()


if __name__ == "__main__":
    main()
