"""`python -m todo_api.relay`: run the outbox relay until SIGTERM or SIGINT."""

from __future__ import annotations

from taskoverflow_events import logs
from taskoverflow_events.stopping import stop_on_signals
from todo_api.bootstrap import build_relay
from todo_api.config import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.configure("todo-api.relay", json=settings.log_json, level=settings.log_level)
    relay = build_relay(settings)
    stop_on_signals(relay.stop)
    relay.run()


if __name__ == "__main__":
    main()
