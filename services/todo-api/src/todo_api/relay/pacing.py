"""How many events one relay pass takes: about `PASS_SECONDS` of SNS calls.

An owner who starts writing while another owner's backlog drains is met by the next pass, so a
pass's length is how long that owner waits. A pass of 100 events is ten PublishBatch calls:
quick on AWS and LocalStack, but moto answers each call into a queue holding thousands of
messages in a fifth of a second or more (it scans the queue per message), and a quiet owner's
calendar request then waited two seconds behind a pass. So the pass shrinks, down to one call,
while calls are slow, and is whole again once they are quick.
"""

from __future__ import annotations

from taskoverflow_events import quotas

PASS_SECONDS = 0.25


class PassPacing:
    def __init__(self, batch_size: int, pass_seconds: float = PASS_SECONDS) -> None:
        self.batch_size = batch_size
        self._pass_seconds = pass_seconds
        self._per_call: float | None = None  # seconds per PublishBatch call, smoothed

    def budget(self) -> int:
        """Events this pass may take: `batch_size` while calls are quick, fewer (down to one
        PublishBatch's worth) while each takes long."""
        if not self._per_call:
            return self.batch_size
        calls = max(1, int(self._pass_seconds // self._per_call))
        return min(self.batch_size, calls * quotas.MAX_BATCH_ENTRIES)

    def observed(self, messages: int, seconds: float) -> None:
        """A pass published `messages` in `seconds` (its calls: one per ten messages)."""
        if messages <= 0:
            return
        calls = -(-messages // quotas.MAX_BATCH_ENTRIES)
        per_call = seconds / calls
        self._per_call = per_call if self._per_call is None else (self._per_call + per_call) / 2
