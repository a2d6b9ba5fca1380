"""`python -m notifier.worker`: consume calendar outcomes and deliver webhooks until SIGTERM.

On SIGTERM (or SIGINT) the dispatcher claims nothing more, the consumer finishes the batch in
hand, and attempts in flight end by their deadline; then the process exits.
"""

from __future__ import annotations

from notifier.bootstrap import build_notifier
from notifier.config import Settings
from taskoverflow_events import logs


def main() -> None:
    settings = Settings.from_env()
    logs.configure("notifier", json=settings.log_json, level=settings.log_level)
    process = build_notifier(settings)
    process.install_signal_handlers()
    process.run()


if __name__ == "__main__":
    main()
