"""A process asked to stop by ECS (SIGTERM) or a developer (Ctrl-C) is told so, not killed."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from taskoverflow_events.stopping import stop_on_signals


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_calls_stop_and_the_process_lives_on(
    restored_handlers: None, signum: signal.Signals
) -> None:
    calls: list[str] = []
    stop_on_signals(lambda: calls.append("stop"))

    os.kill(os.getpid(), signum)  # delivered to the main thread before kill() returns here

    assert calls == ["stop"]
