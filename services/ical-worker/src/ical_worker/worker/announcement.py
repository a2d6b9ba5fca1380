"""CalendarGenerationStarted for renders in progress, sent on its own only when it tells someone
something.

Most renders finish in a few tens of milliseconds, before a client polling the job could see
STARTED at all; their Started events then go out in the same PublishBatch as the outcome, which
saves an SNS call per job (and the emulator's work for it). A render still going after
`after` seconds has its Started events published on their own, from a helper thread, so a
client waiting on a large calendar sees the job move. Either way the events carry the time the
render began, and consumers take a job's events in any order (a standard topic promises none).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from taskoverflow_events import Envelope


class Announcement:
    def __init__(
        self,
        envelopes: Sequence[Envelope],
        publish: Callable[[Sequence[Envelope]], None],
        *,
        after: float,
        executor: Executor,
    ) -> None:
        self._envelopes = list(envelopes)
        self._publish = publish
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._claimed = False
        # The log context (job_id, correlation_id…) goes along to the publishing thread.
        self._sent = executor.submit(contextvars.copy_context().run, self._send_if_slow, after)

    def unsent(self) -> list[Envelope]:
        """The render is over: the Started events still to publish (with the outcome), or none
        if they already went out on their own. Raises if that publish failed, so the message is
        redelivered rather than the job left without its Started."""
        if self._claim():
            return self._envelopes
        self._sent.result()
        return []

    def cancel(self) -> None:
        """The render failed: publish nothing more; a redelivery announces again (same ids)."""
        if not self._claim():
            with contextlib.suppress(Exception):  # the caller is raising its own error
                self._sent.result()

    def _claim(self) -> bool:
        self._finished.set()
        with self._lock:
            mine, self._claimed = not self._claimed, True
        return mine

    def _send_if_slow(self, after: float) -> None:
        if self._finished.wait(after):
            return
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
        self._publish(self._envelopes)
