"""`make bench`: the whole system on PostgreSQL and an AWS endpoint, measured over HTTP.

Writes bench/results/<date>.json, .md and .png and prints the table. Bounded in time, loopback
only, and it stops everything it started. `--smoke` runs tiny sizes (make test runs that).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taskoverflow_bench import isolation, relay_rate, render
from taskoverflow_bench.aws_endpoint_floor import emulator_floor
from taskoverflow_bench.calendar_jobs import burst, calendar_job, calendar_latency
from taskoverflow_bench.event_store_growth import event_store_scale
from taskoverflow_bench.make_run_system import make_run_system
from taskoverflow_bench.report import markdown, plot
from taskoverflow_bench.system import running_system
from taskoverflow_bench.todo_requests import get_todos
from taskoverflow_bench.verdicts import targets
from taskoverflow_bench.worker_throughput import rebuild_rate, worker_apply

FULL = {
    "render": [1_000, 10_000, 100_000],
    "todos": 1_000,
    "more_todos": 9_000,
    "gets": 200,
    "jobs": 30,
    "jobs_10k": 15,
    "burst": 100,
    "rounds": 3,
    "store": [10_000, 1_000_000],
    "floor": 40,
    "relay_backlog": 5_000,
    "relay_quiet": 20,
    "isolation": {"quiet_owners": 5, "todos": 200, "each": 5, "burst": 2_000, "outage": 5_000},
}
SMOKE = {
    "render": [200],
    "todos": 60,
    "more_todos": 0,
    "gets": 20,
    "jobs": 3,
    "jobs_10k": 0,
    "burst": 4,
    "rounds": 2,
    "store": [1_000, 3_000],
    "floor": 8,
    "relay_backlog": 300,
    "relay_quiet": 3,
    "isolation": {"quiet_owners": 2, "todos": 10, "each": 2, "burst": 60, "outage": 100},
}


def run(
    sizes: dict[str, Any], workdir: Path, prefer_localstack: bool, checkpoint: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
    }

    def save() -> None:  # partial results survive a failure in a later phase
        checkpoint.write_text(json.dumps(results, indent=2) + "\n")

    results["render"] = render.measure(sizes["render"], workdir)
    save()
    with running_system(workdir, prefer_localstack=prefer_localstack) as stack:
        results["aws_endpoint"] = stack.endpoint_kind
        print(f"AWS endpoint: {stack.endpoint_kind} at {stack.endpoint}", flush=True)
        # Every process is up and past its start-up (imports, topology lookups) before any
        # measurement counts their CPU.
        calendar_job(stack, timeout=120)
        results["post_todos"] = worker_apply(stack, sizes["todos"])
        print(f"POST /todos: {results['post_todos']['writes']['per_second']} req/s", flush=True)
        results["get_todos"] = get_todos(stack, sizes["gets"])
        results["calendar_1k"] = calendar_latency(stack, sizes["jobs"], sizes["rounds"])
        print(
            f"calendar at {sizes['todos']} todos: {results['calendar_1k']['latency_ms']}",
            flush=True,
        )
        save()
        results["burst"] = burst(stack, sizes["burst"], rounds=sizes["rounds"])
        save()
        print(f"burst: {results['burst']['jobs_per_second']} jobs/s", flush=True)
        if sizes["more_todos"]:
            results["worker_apply_10k"] = worker_apply(stack, sizes["more_todos"], backlog=True)
            results["calendar_10k"] = calendar_latency(stack, sizes["jobs_10k"], sizes["rounds"])
            print(f"calendar at 10k todos: {results['calendar_10k']['latency_ms']}", flush=True)
            save()
        results["emulator_floor"] = emulator_floor(stack, sizes["floor"])
        print(f"emulator floor: {results['emulator_floor']}", flush=True)
        results["rebuild"] = rebuild_rate(stack)
        save()
        results["event_store"] = event_store_scale(stack, sizes["store"])
        save()
        results["relay"] = relay_rate.measure(stack, sizes["relay_backlog"], sizes["relay_quiet"])
        print(f"relay: {results['relay']}", flush=True)
        save()
        results["isolation"] = isolation.measure(stack, **sizes["isolation"])
        print(f"isolation: {results['isolation']}", flush=True)
    save()
    # The same section on the system `make run` starts (moto, SQLite, the Procfile's processes
    # with their default settings): what a newcomer trying two owners meets.
    with make_run_system(workdir / "make-run") as stack:
        print(f"make run: {stack.endpoint_kind} at {stack.endpoint}", flush=True)
        calendar_job(stack, timeout=120)
        results["isolation_make_run"] = isolation.measure(stack, **sizes["isolation"])
        print(f"isolation on make run: {results['isolation_make_run']}", flush=True)
    results["targets"] = targets(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a minute or so")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--moto", action="store_true", help="use moto even where LocalStack runs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / ("smoke-partial.json" if args.smoke else "partial.json")
    with tempfile.TemporaryDirectory(prefix="taskoverflow-bench-") as tmp:
        sizes = SMOKE if args.smoke else FULL
        results = run(sizes, Path(tmp), prefer_localstack=not args.moto, checkpoint=checkpoint)
    checkpoint.unlink(missing_ok=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / (("smoke-" if args.smoke else "") + datetime.now(UTC).strftime("%Y-%m-%d"))
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    stem.with_suffix(".md").write_text(table)
    plot(results, stem.with_suffix(".png"))
    print(table)
    print(f"wrote {stem}.json, .md and .png in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
