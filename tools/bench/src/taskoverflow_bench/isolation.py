"""Many owners at once, one of them a bulk writer: does anyone wait for anyone else?

Quiet owners each ask for calendars one after another; their latency (the job's own timeline:
asked for, then finished) is measured idle, then right after a noisy owner's burst of writes,
then right after a backlog of the noisy owner's writes reaches the relay all at once (the relay
stopped while they were written, as during an SNS outage; the calendars are asked for once the
restarted relay has begun on the backlog, so its start-up is not counted in them). The noisy
owner's own calendar is measured the same way. Everything is reported as a ratio to the same
owner's idle figure in the same run; the target is 3x. Writes and requests go through todo-api's
own application code on its database (HTTP adds the same to every case and is measured
elsewhere).
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine

from taskoverflow_bench.system import Stack, cpu_seconds
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.redrive import queue_depth
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.domain.commands import CreateTodo
from todo_api.store import jobs, outbox

NOISY = "noisy"


class Round(NamedTuple):
    calendar_ms: dict[str, list[float]]  # by owner
    emulator_cores_busy: float  # how many cores the AWS emulator kept busy meanwhile


def _write(app: TodoApplication, owner: str, count: int, threads: int = 8) -> None:
    start = datetime(2027, 1, 1, 9)

    def one(n: int) -> None:
        app.create(owner, CreateTodo(title=f"{owner} {n}", deadline_at=start + timedelta(hours=n)))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(count)))


def _calendar_ms(export: CalendarExport, owner: str, timeout: float = 300) -> float:
    job_id = export.request(owner)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = export.job(owner, job_id)
        if job.status in jobs.FINISHED:
            if job.status != jobs.SUCCESS or job.finished_at is None:
                raise RuntimeError(f"{owner}'s calendar job {job_id} ended {job.status}")
            return (job.finished_at - job.requested_at).total_seconds() * 1000
        time.sleep(0.02)
    raise TimeoutError(f"{owner}'s calendar job {job_id} did not finish in {timeout:.0f} s")


def _round(stack: Stack, export: CalendarExport, owners: list[str], each: int) -> Round:
    """Every owner asks for `each` calendars, one after another, all owners at once."""
    found: dict[str, list[float]] = {o: [] for o in owners}
    cpu, wall = cpu_seconds(stack.emulator_pid), time.monotonic()

    def run(owner: str) -> None:
        for _ in range(each):
            found[owner].append(_calendar_ms(export, owner))

    threads = [threading.Thread(target=run, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Round(found, (cpu_seconds(stack.emulator_pid) - cpu) / (time.monotonic() - wall))


def _unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox.unpublished_count(conn)


def _settle(stack: Stack, engine: Engine, timeout: float = 900) -> None:
    """Until the system is idle: the outbox published and every queue empty. Idle figures are
    taken idle, and each noisy case starts from an idle system, not from the last one's tail."""
    sqs = stack.aws.settings.client("sqs")
    urls = [
        stack.aws.queue_url(q.name.removeprefix(stack.aws.settings.name_prefix))
        for q in stack.aws.topology.queues
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = _unpublished(engine) + sum(queue_depth(sqs, url, in_flight=True) for url in urls)
        if pending == 0:
            return
        time.sleep(2)  # on moto each count scans the queue: ask seldom, not slowing the drain
    raise TimeoutError("the system did not settle: the outbox or a queue still holds events")


def _until_publishing(engine: Engine, waiting: int, timeout: float = 120) -> None:
    """Until a restarted relay has published some of the `waiting` events: in an SNS outage the
    relay runs all along and meets the backlog when SNS is back, so its process start is no part
    of the case."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _unpublished(engine) < waiting:
            return
        time.sleep(0.05)
    raise TimeoutError("the restarted relay published nothing of the backlog")


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p99": round(p99, 1), "n": len(ordered)}


def measure(
    stack: Stack, *, quiet_owners: int, todos: int, each: int, burst: int, outage: int
) -> dict[str, Any]:
    engine = make_engine(stack.todo_db)
    app, export = TodoApplication(engine), CalendarExport(engine)
    quiet = [f"quiet-{n}" for n in range(quiet_owners)]
    started = time.monotonic()

    def say(what: str) -> None:  # a long section shows where it is
        print(f"  isolation, {time.monotonic() - started:6.1f} s: {what}", flush=True)

    try:
        for owner in [*quiet, NOISY]:
            _write(app, owner, todos)
        _settle(stack, engine)
        say(f"{len(quiet) + 1} owners hold {todos} todos each")
        idle = _round(stack, export, [*quiet, NOISY], each)
        say("idle calendars measured")

        def noisy_case(kind: str) -> Round:
            if kind == "burst":
                _write(app, NOISY, burst)  # then at once: everyone asks
            else:
                relay = stack.processes["todo-api-relay"]
                relay.stop()
                try:
                    _write(app, NOISY, outage)
                    waiting = _unpublished(engine)
                finally:
                    relay.start()
                _until_publishing(engine, waiting)
            say(f"{kind}: the noisy owner's writes are in")
            measured = _round(stack, export, [*quiet, NOISY], each)
            say(f"{kind}: calendars measured")
            return measured

        cases = {"burst": noisy_case("burst")}
        _settle(stack, engine)
        cases["outage"] = noisy_case("outage")
        _settle(stack, engine)
        say("the system settled")
    finally:
        engine.dispose()

    def report(measured: Round) -> dict[str, Any]:
        quiet_all = [ms for o in quiet for ms in measured.calendar_ms[o]]
        return {
            "quiet_ms": _stats(quiet_all),
            "noisy_ms": _stats(measured.calendar_ms[NOISY]),
            "emulator_cores_busy": round(measured.emulator_cores_busy, 2),
        }

    idle_report = report(idle)
    out: dict[str, Any] = {
        "quiet_owners": quiet_owners,
        "todos_each": todos,
        "calendars_each": each,
        "idle": idle_report,
    }
    for name, samples in cases.items():
        measured = report(samples)
        measured["quiet_p50_ratio"] = round(
            measured["quiet_ms"]["p50"] / idle_report["quiet_ms"]["p50"], 2
        )
        measured["quiet_p99_ratio"] = round(
            measured["quiet_ms"]["p99"] / idle_report["quiet_ms"]["p99"], 2
        )
        measured["noisy_p50_ratio"] = round(
            measured["noisy_ms"]["p50"] / idle_report["noisy_ms"]["p50"], 2
        )
        measured["writes"] = burst if name == "burst" else outage
        out[name] = measured
    return out
