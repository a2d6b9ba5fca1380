"""A clock that moves only when the test moves it, for code that takes its time from a callable:
limits, windows and expiries are then tested by moving time on, never by waiting for it, so a
test's verdict cannot depend on how fast or how loaded the machine is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Naive UTC, as the services store times; starts at the real now unless told otherwise."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(tzinfo=None)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
