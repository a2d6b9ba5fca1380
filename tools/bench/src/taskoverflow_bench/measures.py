"""What the benchmark does to the running system, as a client would, with every loop bounded."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.rebuild.__main__ import rebuild
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from taskoverflow_bench.system import Stack, cpu_seconds
from taskoverflow_events.persistence import make_engine
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.store import event_store
from todo_api.store.tables import events

_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50": pick(0.5),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "mean": round(statistics.fmean(ordered), 2),
    }


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def post_todos(stack: Stack, count: int, threads: int = 8) -> dict[str, Any]:
    day = iter(range(count))

    def one(_: int) -> float:
        i = next(day)
        body = {
            "title": f"bench {i}",
            "description": "d" * 40,
            "deadline_at": f"2026-12-{1 + i % 28:02d}T{8 + i % 10:02d}:{i % 60:02d}:00",
        }
        return timed(
            lambda: (
                session()
                .post(f"{stack.api}/api/v1/todos", json=body, timeout=30)
                .raise_for_status()
            )
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(one, range(count)))
    seconds = time.perf_counter() - started
    return {
        "requests": count,
        "threads": threads,
        "per_second": round(count / seconds, 1),
        "latency_ms": percentiles(latencies),
    }


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
                        text("SELECT applied_sequence FROM owners WHERE owner = 'default'")
                    ).scalar()
            except ProgrammingError:  # the worker has not created its tables yet
                applied = None
            if applied is not None and applied >= target:
                return time.perf_counter() - started
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise TimeoutError(f"the worker did not reach sequence {target} within {timeout}s")


def get_todos(stack: Stack, count: int) -> dict[str, Any]:
    latencies = [
        timed(lambda: session().get(f"{stack.api}/api/v1/todos", timeout=30).raise_for_status())
        for _ in range(count)
    ]
    return {"latency_ms": percentiles(latencies)}


def calendar_job(stack: Stack, timeout: float = 60, poll: float = 0.005) -> float:
    """POST /todos/ical → poll until SUCCESS → fetch the result; milliseconds. Many clients at
    once poll less often, or their polling would take the CPU the system needs."""
    started = time.perf_counter()
    job = session().post(f"{stack.api}/api/v1/todos/ical", timeout=30).json()
    while True:
        status = session().get(job["task_url"], timeout=30).json()
        if status["task_status"] == "SUCCESS":
            break
        if status["task_status"] == "FAILURE" or time.perf_counter() - started > timeout:
            raise RuntimeError(f"calendar job did not succeed: {status}")
        time.sleep(poll)
    session().get(status["result_url"], timeout=60).raise_for_status()
    return (time.perf_counter() - started) * 1000


def our_cpu(stack: Stack) -> dict[str, float]:
    return {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}


def calendar_latency(stack: Stack, jobs: int) -> dict[str, Any]:
    calendar_job(stack)  # warm-up
    cpu_before, emulator_before = our_cpu(stack), cpu_seconds(stack.emulator_pid)
    latencies = [calendar_job(stack) for _ in range(jobs)]
    cpu_after, emulator_after = our_cpu(stack), cpu_seconds(stack.emulator_pid)
    per_process = {n: round((cpu_after[n] - cpu_before[n]) * 1000 / jobs, 2) for n in cpu_before}
    return {
        "jobs": jobs,
        "latency_ms": percentiles(latencies),
        "cpu_ms_per_job": per_process,
        "cpu_ms_per_job_total": round(sum(per_process.values()), 2),
        "emulator_cpu_ms_per_job": round((emulator_after - emulator_before) * 1000 / jobs, 2),
        "samples_ms": [round(x, 2) for x in latencies],
    }


def burst(stack: Stack, jobs: int, threads: int = 8) -> dict[str, Any]:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(
            pool.map(lambda _: calendar_job(stack, timeout=300, poll=0.025), range(jobs))
        )
    seconds = time.perf_counter() - started
    return {
        "jobs": jobs,
        "threads": threads,
        "jobs_per_second": round(jobs / seconds, 2),
        "latency_ms": percentiles(latencies),
    }


def worker_apply(stack: Stack, count: int) -> dict[str, Any]:
    """Write `count` todos, then time the worker applying them; CPU per TodoChanged."""
    wait_for_worker(stack, timeout=600)
    worker = stack.processes["ical-worker"].pid
    cpu_before = cpu_seconds(worker)
    writes = post_todos(stack, count)
    seconds = wait_for_worker(stack, timeout=max(120, count / 5))
    cpu = cpu_seconds(worker) - cpu_before
    return {
        "events": count,
        "writes": writes,
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


def event_store_scale(stack: Stack, sizes: list[int], samples: int = 300) -> list[dict[str, Any]]:
    """Append and feed-page latency as the events table grows (filler rows are published)."""
    engine = make_engine(stack.todo_db)
    app = TodoApplication(engine)
    results = []
    try:
        for size in sizes:
            with engine.begin() as conn:
                current = conn.execute(select(text("count(*)")).select_from(events)).scalar_one()
                filler = conn.execute(
                    text("SELECT coalesce(max(sequence), 0) FROM events WHERE owner = 'filler'")
                ).scalar_one()
                # Grow the table to `size`, and keep at least 1,000 filler events to page over.
                needed = max(size - current, 1_000 - filler, 0)
                if needed:
                    conn.execute(
                        text(
                            "INSERT INTO events (event_id, owner, sequence, event_type,"
                            " schema_version, occurred_at, body, published_at)"
                            " SELECT gen_random_uuid()::text, 'filler',"
                            " :start + g, 'TodoChanged', 1, now(), '{}', now()"
                            " FROM generate_series(1, :n) g"
                        ),
                        {"start": filler, "n": needed},
                    )
                    conn.execute(text("ANALYZE events"))
                total = conn.execute(select(text("count(*)")).select_from(events)).scalar_one()
            owner = f"scale-{uuid.uuid4().hex[:6]}"
            appends = [
                timed(lambda owner=owner: app.create(owner, CreateTodo(title="scale")))
                for _ in range(samples)
            ]
            with engine.connect() as conn:
                top = conn.execute(
                    text("SELECT max(sequence) FROM events WHERE owner = 'filler'")
                ).scalar_one()
                pages = []
                for i in range(samples):
                    after = (i * 7919) % max(top - 100, 1)
                    pages.append(
                        timed(
                            lambda after=after: event_store.owner_events(
                                conn, "filler", after=after, limit=100
                            )
                        )
                    )
            results.append(
                {
                    "events": total,
                    "append_ms": percentiles(appends),
                    "feed_page_ms": percentiles(pages),
                }
            )
            print(
                f"event store at {total} events: append p99 {results[-1]['append_ms']['p99']} ms, "
                f"feed page p99 {results[-1]['feed_page_ms']['p99']} ms",
                flush=True,
            )
    finally:
        engine.dispose()
    return results
