"""`python -m notifier.worker`: consume calendar outcomes until SIGTERM/SIGINT."""

from __future__ import annotations

from notifier.bootstrap import build_consumer
from notifier.config import Settings
from taskoverflow_events import logs


def main() -> None:
    settings = Settings.from_env()
    logs.configure("notifier", json=settings.log_json, level=settings.log_level)
    consumer = build_consumer(settings)
    consumer.install_signal_handlers()
    consumer.run()


if __name__ == "__main__":
    main()
