"""`python -m todo_api.relay`: run the outbox relay until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
from types import FrameType

from taskoverflow_events import logs
from todo_api.bootstrap import build_relay
from todo_api.config import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.configure("todo-api.relay", json=settings.log_json, level=settings.log_level)
    relay = build_relay(settings)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        relay.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    relay.run()


if __name__ == "__main__":
    main()
