"""The benchmark's report: a Markdown table of the verdicts and figures, and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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


def by_round(values: list[float] | None) -> str:
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
