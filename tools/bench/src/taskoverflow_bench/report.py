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
    check(
        "CPU per job, all our processes",
        f"{cal['cpu_ms_per_job_total']} ms",
        "≤ 50 ms",
        cal["cpu_ms_per_job_total"] <= 50,
    )
    burst = results["burst"]["jobs_per_second"]
    on_localstack = results["aws_endpoint"].startswith("LocalStack")
    check(
        "burst",
        f"{burst} jobs/s",
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
    apply = results.get("worker_apply_10k", results["post_todos"])
    check(
        "worker CPU per TodoChanged",
        f"{apply['worker_cpu_ms_per_event']} ms",
        "≤ 1 ms",
        apply["worker_cpu_ms_per_event"] <= 1,
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
        f"Calendar end to end at 1k todos: {cal['latency_ms']}; CPU ms per job by process "
        f"{cal['cpu_ms_per_job']}, the emulator {cal['emulator_cpu_ms_per_job']} ms.",
        f"POST /todos: {results['post_todos']['writes']}.",
        f"GET /todos: {results['get_todos']['latency_ms']}.",
        f"Burst: {results['burst']}. Rebuild: {results['rebuild']}.",
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
