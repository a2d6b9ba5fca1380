"""How every long-running process is asked to stop: ECS sends SIGTERM and waits its stop timeout
before SIGKILL, and a developer presses Ctrl-C. Both only ask; the process finishes what it holds
(a batch, a claimed delivery, a publish) and then returns from its loop."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

import structlog

log = structlog.get_logger("taskoverflow.stopping")


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call `stop` on SIGTERM or SIGINT; must be called from the main thread."""

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", signal=signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
