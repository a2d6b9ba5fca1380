"""What the benchmark does to the running system, as a client would, with every loop bounded."""

from __future__ import annotations

import os
import re
import signal
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.rebuild.__main__ import rebuild
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from taskoverflow_bench.system import Stack, cpu_seconds, cpu_seconds_of_command, process_tree
from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.plugin import aws_settings_for
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


def get_todos(stack: Stack, count: int) -> dict[str, Any]:
    latencies = [
        timed(lambda: session().get(f"{stack.api}/api/v1/todos", timeout=30).raise_for_status())
        for _ in range(count)
    ]
    return {"latency_ms": percentiles(latencies)}


def calendar_job(
    stack: Stack,
    timeout: float = 60,
    stages: list[dict[str, float]] | None = None,
) -> float:
    """POST /todos/ical → long-poll its status until SUCCESS → fetch the result; milliseconds.
    The client waits as the web UI does (`?wait=`), so the server answers once per job rather
    than once per poll.

    With `stages`, also where the time went, from the job's timeline (each step stamped by the
    process that took it, on this machine's one clock) and the client's own clock."""
    started = time.perf_counter()
    job = session().post(f"{stack.api}/api/v1/todos/ical", timeout=30).json()
    posted = time.perf_counter()
    while True:
        answer = session().get(job["task_url"], params={"wait": "10"}, timeout=40)
        if answer.status_code == 429:  # this owner's long-polls are at their cap: as a client,
            time.sleep(float(answer.headers.get("Retry-After", "1")))  # wait and ask again
            continue
        status = answer.json()
        if status["task_status"] == "SUCCESS":
            break
        if status["task_status"] == "FAILURE" or time.perf_counter() - started > timeout:
            raise RuntimeError(f"calendar job did not succeed: {status}")
    seen = time.perf_counter()
    session().get(status["result_url"], timeout=60).raise_for_status()
    done = time.perf_counter()
    at = {step["status"]: step["elapsed_ms"] for step in status["timeline"]}
    # CalendarGenerationStarted and the outcome travel one standard queue and are handled by
    # separate receive loops, so a job can be SUCCESS before its Started arrives, which is then
    # left out of the timeline: such a job has no stages to report.
    if stages is not None and "STARTED" in at:
        post_ms = (posted - started) * 1000
        stages.append(
            {
                "post": post_ms,
                # relay → SNS FIFO → SQS → worker receives CalendarRequested
                "to_worker": at["STARTED"],
                # render + S3 + CalendarGenerated → SNS → SQS → todo-api consumer
                "render_to_ready": at["SUCCESS"] - at["STARTED"],
                # the job's notification → the long-poll answers
                "ready_to_seen": max(0.0, (seen - started) * 1000 - post_ms - at["SUCCESS"]),
                "fetch": (done - seen) * 1000,
            }
        )
    return (done - started) * 1000


def emulator_floor(stack: Stack, samples: int = 40) -> dict[str, Any]:
    """What the AWS endpoint alone costs, with a bare boto3 client and none of our code: one bus
    trip (publish to an SNS FIFO topic, long-poll receive from its SQS FIFO queue) and one S3
    put and get of a calendar-sized object. A calendar job makes three bus trips, one put and
    one get on its critical path, so this is the floor under its latency on this endpoint.

    It makes the same kinds of call our processes make (PublishBatch, ReceiveMessage,
    DeleteMessageBatch, PutObject, GetObject) and times the CPU each costs this thread: what the
    boto3 client itself costs per call, the part of our processes' CPU that is no code of ours."""
    aws = aws_settings_for(stack.endpoint, f"probe{uuid.uuid4().hex[:6]}-")
    sns, sqs, s3 = aws.client("sns"), aws.client("sqs"), aws.client("s3")
    topic = sns.create_topic(Name=f"{aws.name_prefix}trip.fifo", Attributes={"FifoTopic": "true"})[
        "TopicArn"
    ]
    queue = sqs.create_queue(
        QueueName=f"{aws.name_prefix}trip.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    bucket = f"{aws.name_prefix}floor"
    s3.create_bucket(Bucket=bucket)
    calendar = b"BEGIN:VEVENT\r\n" * 20_000  # about the size of 1,000 todos' calendar
    trips, puts, gets = [], [], []
    client_cpu: dict[str, list[float]] = {}

    def call(operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        cpu = time.thread_time()
        result = method(**kwargs)
        if operation == "s3.GetObject":
            result["Body"].read()
        client_cpu.setdefault(operation, []).append((time.thread_time() - cpu) * 1000)
        return result

    for i in range(samples):
        started = time.perf_counter()
        entry = {
            "Id": "0",
            "Message": "{}",
            "MessageGroupId": "probe",
            "MessageDeduplicationId": str(i),
        }
        call(
            "sns.PublishBatch",
            sns.publish_batch,
            TopicArn=topic,
            PublishBatchRequestEntries=[entry],
        )
        received = call(
            "sqs.ReceiveMessage",
            sqs.receive_message,
            QueueUrl=queue,
            WaitTimeSeconds=5,
            MessageAttributeNames=["All"],
        )["Messages"]
        trips.append((time.perf_counter() - started) * 1000)
        handle = {"Id": "0", "ReceiptHandle": received[0]["ReceiptHandle"]}
        call("sqs.DeleteMessageBatch", sqs.delete_message_batch, QueueUrl=queue, Entries=[handle])
        started = time.perf_counter()
        call("s3.PutObject", s3.put_object, Bucket=bucket, Key="c.ics", Body=calendar)
        puts.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        call("s3.GetObject", s3.get_object, Bucket=bucket, Key="c.ics")
        gets.append((time.perf_counter() - started) * 1000)
    return {
        "bus_trip_ms": percentiles(trips[5:]),
        "s3_put_ms": percentiles(puts[5:]),
        "s3_get_ms": percentiles(gets[5:]),
        "object_bytes": len(calendar),
        "client_cpu_ms_per_call": {
            operation: round(statistics.median(samples_ms[5:]), 3)
            for operation, samples_ms in client_cpu.items()
        },
    }


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


def calendar_latency(stack: Stack, jobs: int, rounds: int = 3) -> dict[str, Any]:
    """`rounds` rounds of `jobs` jobs one after another. Latency and stages are over every job;
    the CPU split is the median round's (by total), as the baseline's figures were medians of
    several runs: this machine's speed drifts by half within minutes."""
    calendar_job(stack)  # warm-up
    measured = [_calendar_round(stack, jobs) for _ in range(rounds)]
    typical = sorted(measured, key=lambda r: r["cpu_ms_per_job_total"])[len(measured) // 2]
    latencies = [x for r in measured for x in r.pop("samples")]
    stages = [s for r in measured for s in r.pop("stages")]
    return {
        **typical,
        "jobs": jobs * rounds,
        "rounds": rounds,
        "cpu_ms_per_job_total_by_round": [r["cpu_ms_per_job_total"] for r in measured],
        "machine_speed_ms_by_round": [r["machine_speed_ms"] for r in measured],
        "latency_ms": percentiles(latencies),
        "stage_p50_ms": {
            name: round(statistics.median(s[name] for s in stages), 1)
            for name in (stages[0] if stages else {})
        },
        "jobs_with_stages": len(stages),
        "samples_ms": [round(x, 2) for x in latencies],
    }


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


def _calendar_round(stack: Stack, jobs: int) -> dict[str, Any]:
    speed = machine_speed_ms()
    cpu_before, emulator_before = our_cpu(stack), cpu_seconds(stack.emulator_pid)
    calls = AwsCallCounter(stack)
    stages: list[dict[str, float]] = []
    latencies = [calendar_job(stack, stages=stages) for _ in range(jobs)]
    cpu_after, emulator_after = our_cpu(stack), cpu_seconds(stack.emulator_pid)
    served = calls.since()
    per_process = {n: round((cpu_after[n] - cpu_before[n]) * 1000 / jobs, 2) for n in cpu_before}
    return {
        "cpu_ms_per_job": per_process,
        "cpu_ms_per_job_total": round(sum(per_process.values()), 2),
        "machine_speed_ms": speed,
        "emulator_cpu_ms_per_job": round((emulator_after - emulator_before) * 1000 / jobs, 2),
        # Every process idles in a long-poll receive; a job's own calls wake them. The few idle
        # receives that time out during the round are counted too.
        "aws_calls_per_job": (
            {name: round(n / jobs, 2) for name, n in sorted(served.items())} if served else None
        ),
        "samples": latencies,
        "stages": stages,
    }


def burst(stack: Stack, jobs: int, threads: int = 8, rounds: int = 3) -> dict[str, Any]:
    """`rounds` bursts of `jobs` jobs from `threads` client threads; the median one is reported,
    with every round's rate beside it."""
    measured = [_burst_round(stack, jobs, threads) for _ in range(rounds)]
    typical = sorted(measured, key=lambda r: r["jobs_per_second"])[len(measured) // 2]
    return {
        **typical,
        "rounds": rounds,
        "jobs_per_second_by_round": [r["jobs_per_second"] for r in measured],
    }


def _burst_round(stack: Stack, jobs: int, threads: int) -> dict[str, Any]:
    before = machine_cpu(stack)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(lambda _: calendar_job(stack, timeout=300), range(jobs)))
    seconds = time.perf_counter() - started
    after = machine_cpu(stack)
    return {
        "jobs": jobs,
        "threads": threads,
        "jobs_per_second": round(jobs / seconds, 2),
        "latency_ms": percentiles(latencies),
        # Two cores give 2000 / rate ms of CPU per job; this is where it went.
        "cpu_ms_per_job": {n: round((after[n] - before[n]) * 1000 / jobs, 2) for n in before},
        # How busy each was, in cores. A Python process (LocalStack is one, as is each of ours
        # but the web's two workers) cannot go much past one core: the busiest is the ceiling.
        "cores_busy": {n: round((after[n] - before[n]) / seconds, 2) for n in before},
        "emulator_processes": len(process_tree(stack.emulator_pid)),
    }


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


def event_store_scale(stack: Stack, sizes: list[int], samples: int = 1_000) -> list[dict[str, Any]]:
    """Append and feed-page latency as the events table grows (filler rows are published).

    A thousand samples each: a feed page takes about half a millisecond, so with 300 the p99
    was the third-slowest sample and one scheduler hiccup on this two-core machine moved it
    from 1 to 5 ms at either size."""
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
            # Measure the steady state, not the bulk load's aftermath: a million new rows leave an
            # autovacuum and a checkpoint to come, and their I/O would land under the samples'
            # p99 (the 1M append p99 ranged from x0.7 to x1.8 of the 10k one across runs).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) events"))
                conn.execute(text("CHECKPOINT"))
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
