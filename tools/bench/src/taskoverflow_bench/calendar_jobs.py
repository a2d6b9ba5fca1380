"""Calendar jobs timed end to end as a client runs them (ask, long-poll the status, fetch): one
after another for latency, from many threads at once for throughput, each with where the CPU
went, since on this two-core machine latency and throughput spend the same budget."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from taskoverflow_bench.client_timing import percentiles, session
from taskoverflow_bench.cost_accounting import (
    AwsCallCounter,
    machine_cpu,
    machine_speed_ms,
    our_cpu,
)
from taskoverflow_bench.system import Stack, cpu_seconds, process_tree


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
