"""The benchmark's verdicts against the issue's targets, a Markdown table and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CELERY = {"post_per_second": 310, "calendar_p50_ms_1k": 140}


def _render_at(results: dict[str, Any], todos: int) -> dict[str, Any] | None:
    return next((r for r in results["render"] if r["todos"] == todos), None)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def check(name: str, value: Any, goal: str, met: bool | None) -> None:
        out.append({"target": name, "measured": value, "goal": goal, "met": met})

    for todos in (10_000, 100_000):
        row = _render_at(results, todos)
        if row:
            check(
                f"assembly vs naive at {todos}", f"x{row['speedup']}", "≥ x50", row["speedup"] >= 50
            )
    row = _render_at(results, 100_000)
    if row:
        check(
            "peak memory at 100k",
            f"{row['memory_ratio']} of naive",
            "≤ 0.25",
            row["memory_ratio"] <= 0.25,
        )
    cal = results["calendar_1k"]
    check(
        "calendar p50 at 1k",
        f"{cal['latency_ms']['p50']} ms",
        "≤ 90 ms",
        cal["latency_ms"]["p50"] <= 90,
    )
    if "calendar_10k" in results:
        p50 = results["calendar_10k"]["latency_ms"]["p50"]
        check("calendar p50 at 10k", f"{p50} ms", "≤ 150 ms", p50 <= 150)
    client = aws_client_cpu_per_job(results)
    check(
        "CPU per job, all our processes",
        f"{cal['cpu_ms_per_job_total']} ms"
        + (f" ({client['ms']} ms of it in the boto3 client)" if client else "")
        + _by_round(cal.get("cpu_ms_per_job_total_by_round")),
        "≤ 50 ms",
        cal["cpu_ms_per_job_total"] <= 50,
    )
    burst = results["burst"]["jobs_per_second"]
    on_localstack = results["aws_endpoint"].startswith("LocalStack")
    check(
        "burst",
        f"{burst} jobs/s" + _by_round(results["burst"].get("jobs_per_second_by_round")),
        "≥ 25 jobs/s (LocalStack)",
        burst >= 25 if on_localstack else None,
    )
    posts = results["post_todos"]["writes"]["per_second"]
    check(
        "POST /todos, 2 workers, relay running",
        f"{posts} req/s",
        f"≥ {CELERY['post_per_second']} req/s",
        posts >= CELERY["post_per_second"],
    )
    get = results["get_todos"]["latency_ms"]
    check(
        "GET /todos p99 / p50",
        f"{round(get['p99'] / get['p50'], 2)}",
        "≤ 3",
        get["p99"] <= 3 * get["p50"],
    )
    trickle = results["post_todos"]
    check(
        "worker CPU per TodoChanged, as writes trickle in",
        f"{trickle['worker_cpu_ms_per_event']} ms",
        "≤ 1 ms",
        trickle["worker_cpu_ms_per_event"] <= 1,
    )
    if "worker_apply_10k" in results:
        backlog = results["worker_apply_10k"]
        check(
            f"worker CPU per TodoChanged, a backlog of {backlog['events']}",
            f"{backlog['worker_cpu_ms_per_event']} ms",
            "≤ 1 ms",
            backlog["worker_cpu_ms_per_event"] <= 1,
        )
    rebuild = results["rebuild"]["events_per_second"]
    check("rebuild", f"{rebuild} events/s", "≥ 5,000 events/s", rebuild >= 5000)
    small, large = results["event_store"][0], results["event_store"][-1]
    for what in ("append_ms", "feed_page_ms"):
        ratio = round(large[what]["p99"] / max(small[what]["p99"], 1e-6), 2)
        check(
            f"{what.removesuffix('_ms')} p99 at {large['events']} vs {small['events']} events",
            f"x{ratio}",
            "≤ x1.5",
            ratio <= 1.5,
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"## Benchmark {results['date']} — {results['aws_endpoint']}, PostgreSQL",
        "",
        f"Machine: {results['machine']['cpus']} cores, load average at start "
        f"{results['machine']['load_average_at_start']}.",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for t in results["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['target']} | {t['measured']} | {t['goal']} | {met} |")
    lines += [
        "",
        "| render | naive ms | naive peak MB | assembled ms | assembled peak MB |",
        "|---|---|---|---|---|",
    ]
    for r in results["render"]:
        lines.append(
            f"| {r['todos']} todos | {r['naive_ms']} | {r['naive_peak_rss_mb']} | "
            f"{r['assembled_ms']} | {r['assembled_peak_rss_mb']} |"
        )
    cal = results["calendar_1k"]
    lines += [
        "",
        f"Machine speed (CPU ms of a fixed Python workload, lower is faster) before each"
        f" calendar round: {cal.get('machine_speed_ms_by_round')}.",
        f"Calendar end to end at 1k todos: {cal['latency_ms']}; CPU ms per job by process "
        f"{cal['cpu_ms_per_job']}, the emulator {cal['emulator_cpu_ms_per_job']} ms. "
        f"Where a job's time goes (p50 ms per stage): {cal.get('stage_p50_ms')}.",
        f"POST /todos: {results['post_todos']['writes']}; CPU ms per write while they ran"
        f" (2 cores: {_budget(results['post_todos']['writes']['per_second'])} ms per"
        f" write at this rate): {results['post_todos'].get('cpu_ms_per_write')}."
        f" {_without_emulator(results['post_todos'].get('cpu_ms_per_write'))}",
        f"GET /todos: {results['get_todos']['latency_ms']}.",
        _floor(results),
        _client_share(results),
        f"Burst: {results['burst']} (2 cores: {_budget(results['burst']['jobs_per_second'])}"
        f" ms of CPU per job at this rate). {_busiest(results['burst'])}"
        f" Rebuild: {results['rebuild']}.",
        "",
    ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    samples = {"1k todos": results["calendar_1k"]["samples_ms"]}
    if "calendar_10k" in results:
        samples["10k todos"] = results["calendar_10k"]["samples_ms"]
    left.boxplot(list(samples.values()), tick_labels=list(samples))
    left.set_ylabel("ms")
    left.set_title(f"Calendar end to end ({results['aws_endpoint']})")
    todos = [r["todos"] for r in results["render"]]
    right.plot(todos, [r["naive_ms"] for r in results["render"]], "o-", label="naive icalendar")
    right.plot(todos, [r["assembled_ms"] for r in results["render"]], "o-", label="assembled")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("todos")
    right.set_ylabel("ms")
    right.set_title("Render cost")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _without_emulator(per_write: dict[str, float] | None) -> str:
    """What two cores would allow if the emulator's share of each write were not on them."""
    if not per_write or not per_write.get("emulator"):
        return ""
    rest = sum(ms for name, ms in per_write.items() if name != "emulator")
    return (
        f"Everything but the emulator spent {round(rest, 2)} ms per write: on two cores of"
        f" their own, {round(2000 / rest)} req/s."
    )


def _budget(per_second: float) -> float:
    """Milliseconds of CPU that two cores have per item at `per_second` items a second."""
    return round(2000 / per_second, 1)


def aws_client_cpu_per_job(results: dict[str, Any]) -> dict[str, float] | None:
    """How much of our processes' CPU per calendar job is the boto3 client itself: the AWS calls
    a job made (counted by the emulator) times what each kind of call costs a bare client (timed
    in the same run). Calls the emulator's log does not name are costed at the median kind."""
    calls = results["calendar_1k"].get("aws_calls_per_job")
    per_call = (results.get("emulator_floor") or {}).get("client_cpu_ms_per_call")
    if not calls or not per_call:
        return None
    typical = sorted(per_call.values())[len(per_call) // 2]
    ms = sum(n * per_call.get(name, typical) for name, n in calls.items())
    return {"calls": round(sum(calls.values()), 1), "ms": round(ms, 1)}


def _client_share(results: dict[str, Any]) -> str:
    client = aws_client_cpu_per_job(results)
    if not client:
        return ""
    cal, floor = results["calendar_1k"], results["emulator_floor"]
    ours = round(cal["cpu_ms_per_job_total"] - client["ms"], 1)
    return (
        f"AWS calls per job (the emulator's count): {cal['aws_calls_per_job']}; a bare boto3"
        f" client's CPU per call (ms): {floor['client_cpu_ms_per_call']}. So {client['ms']} ms of"
        f" the {cal['cpu_ms_per_job_total']} ms our processes spend per job is the AWS client"
        f" library making {client['calls']} calls, and {ours} ms is the rest of our code."
    )


def _by_round(values: list[float] | None) -> str:
    """The rounds behind a median, so the spread is in the table too."""
    return f"; rounds {' / '.join(str(v) for v in values)}" if values and len(values) > 1 else ""


def _busiest(burst: dict[str, Any]) -> str:
    busy = burst.get("cores_busy")
    if not busy:
        return ""
    name = max(busy, key=busy.__getitem__)
    ceiling = round(1000 / burst["cpu_ms_per_job"][name], 1) if burst["cpu_ms_per_job"][name] else 0
    return (
        f"The busiest process during the burst was {name}, at {busy[name]} of a core"
        f" (the emulator ran as {burst.get('emulator_processes')} process(es)); at"
        f" {burst['cpu_ms_per_job'][name]} ms per job, a whole core of its own would give it"
        f" at most {ceiling} jobs/s."
    )


def _floor(results: dict[str, Any]) -> str:
    floor = results.get("emulator_floor")
    if not floor:
        return ""
    trip, put, get = (floor[k]["p50"] for k in ("bus_trip_ms", "s3_put_ms", "s3_get_ms"))
    return (
        f"The endpoint alone (bare boto3, none of our code), p50: a bus trip (SNS FIFO publish"
        f" to SQS FIFO long-poll receive) {trip} ms, S3 put {put} ms and get {get} ms of"
        f" {floor['object_bytes']} bytes. A job's critical path has three trips, a put and a"
        f" get: {round(3 * trip + put + get, 1)} ms of its latency is this floor."
    )
