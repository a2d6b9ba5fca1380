"""How fast ical-worker's projection keeps up with todo-api's writes, and how fast a rebuild
replays the feed. Progress is read where each side records it, in the two databases (the
stream's version, the sequence the worker has applied), not inferred from HTTP answers."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.rebuild.__main__ import rebuild
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from taskoverflow_bench.cost_accounting import machine_cpu
from taskoverflow_bench.system import Stack, cpu_seconds
from taskoverflow_bench.todo_requests import post_todos
from taskoverflow_events.persistence import make_engine


def stream_version(stack: Stack) -> int:
    engine = make_engine(stack.todo_db)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM streams WHERE owner = 'default'")).scalar()
    engine.dispose()
    return int(version or 0)


def wait_for_worker(stack: Stack, timeout: float) -> float:
    """Seconds until the worker's projection has applied the owner's whole stream."""
    target = stream_version(stack)
    if target == 0:
        return 0.0
    engine = make_engine(stack.worker_db)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            try:
                with engine.connect() as conn:
                    applied = conn.execute(
                        text(
                            "SELECT applied_sequence FROM projection_owners WHERE owner = 'default'"
                        )
                    ).scalar()
            except ProgrammingError:  # the worker has not created its tables yet
                applied = None
            if applied is not None and applied >= target:
                return time.perf_counter() - started
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise TimeoutError(f"the worker did not reach sequence {target} within {timeout}s")


def worker_apply(stack: Stack, count: int, *, backlog: bool = False) -> dict[str, Any]:
    """Write `count` todos and time the worker applying them; CPU per TodoChanged.

    As writes trickle in (the default) the worker takes them one or two per receive, so its CPU
    per event includes a whole SQS receive and delete each. With `backlog`, the worker is
    paused (SIGSTOP) during the writes and resumed after: that measures what it costs to apply
    events in full batches, its capacity rather than the writers' pace.
    """
    wait_for_worker(stack, timeout=600)
    worker = stack.processes["ical-worker"].pid
    if backlog:
        os.kill(worker, signal.SIGSTOP)
    try:
        cpu_before = cpu_seconds(worker)
        split_before = machine_cpu(stack)
        writes = post_todos(stack, count)
        split_after = machine_cpu(stack)
    finally:
        if backlog:
            os.kill(worker, signal.SIGCONT)
    seconds = wait_for_worker(stack, timeout=max(120, count / 5))
    cpu = cpu_seconds(worker) - cpu_before
    return {
        "events": count,
        "backlog": backlog,
        "writes": writes,
        # Where the machine's CPU went while the writes ran, per write: the two cores' budget
        # at a rate R is 2000/R ms per write.
        "cpu_ms_per_write": {
            name: round((split_after[name] - split_before[name]) * 1000 / count, 2)
            for name in split_before
        },
        "events_per_second_after_writes": round(count / max(seconds, 1e-6), 1),
        "worker_cpu_ms_per_event": round(cpu * 1000 / count, 3),
    }


def rebuild_rate(stack: Stack) -> dict[str, Any]:
    engine = make_engine(stack.worker_db)
    started = time.perf_counter()
    reached = rebuild(engine, Projection(FeedClient(stack.api)), "default")
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "events": reached,
        "seconds": round(seconds, 2),
        "events_per_second": round(reached / seconds, 1),
    }
