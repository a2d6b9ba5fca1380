"""Where a measurement's cost went, read beside its latencies: CPU seconds per process (ours,
the emulator's, PostgreSQL's, the bench client's), the AWS calls the emulator served, and how
fast this shared machine ran Python at the time, so a slow round can be told from slow code."""

from __future__ import annotations

import re
import time
from collections import Counter

from taskoverflow_bench.system import Stack, cpu_seconds, cpu_seconds_of_command


class AwsCallCounter:
    """Counts the API calls the emulator served, from its own log: LocalStack writes one line per
    call naming it ("AWS sqs.ReceiveMessage => 200"); moto's access log has one line per call but
    no operation, so those are counted by HTTP method."""

    LOCALSTACK = re.compile(r"AWS (\S+) => ")
    ACCESS_LOG = re.compile(r'"(GET|PUT|POST|DELETE|HEAD) ')

    def __init__(self, stack: Stack) -> None:
        self._log = stack.emulator_log
        self._offset = self._size()

    def _size(self) -> int:
        return self._log.stat().st_size if self._log and self._log.exists() else 0

    def since(self) -> dict[str, int] | None:
        """The calls served since this counter was made; None when the emulator keeps no log."""
        if self._log is None or not self._log.exists():
            return None
        with self._log.open("rb") as log:
            log.seek(self._offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        counts: Counter[str] = Counter()
        for line in lines:
            if named := self.LOCALSTACK.search(line):
                counts[named.group(1)] += 1
            elif served := self.ACCESS_LOG.search(line):
                counts[f"HTTP {served.group(1)}"] += 1
        return dict(counts)


def machine_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of everything that runs during a measurement."""
    return {
        **our_cpu(stack),
        "emulator": cpu_seconds(stack.emulator_pid),
        "postgresql": cpu_seconds_of_command("postgres"),
        "bench client": time.process_time(),
    }


def our_cpu(stack: Stack) -> dict[str, float]:
    return {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}


def machine_speed_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload (best of three): how fast this machine
    runs Python at the moment. Measured beside each round, so a slow round can be told from
    slow code; on this shared two-core machine it has moved by half within minutes."""
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        best = min(best, time.thread_time() - started)
    return round(best * 1000, 2)
