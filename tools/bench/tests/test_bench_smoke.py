"""A small run of `make bench`, so the benchmark cannot rot: it must start the whole system,
measure every figure, judge every target and write its three files."""

import json
import subprocess
import sys
from pathlib import Path


def test_the_benchmark_runs_end_to_end_and_reports_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskoverflow_bench", "--smoke", "--moto", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [report] = list(tmp_path.glob("smoke-*.json"))
    results = json.loads(report.read_text())
    assert results["aws_endpoint"] == "moto server"
    assert results["render"][0]["naive_ms"] > 0
    assert results["render"][0]["assembled_ms"] > 0
    assert results["calendar_1k"]["latency_ms"]["n"] == 3 * 2, "two rounds of three jobs"
    assert len(results["calendar_1k"]["cpu_ms_per_job_total_by_round"]) == 2
    assert all(ms > 0 for ms in results["calendar_1k"]["machine_speed_ms_by_round"])
    assert len(results["burst"]["jobs_per_second_by_round"]) == 2
    assert all(v >= 0 for v in results["calendar_1k"]["cpu_ms_per_job"].values())
    assert results["post_todos"]["writes"]["per_second"] > 0
    assert results["rebuild"]["events"] >= 60
    assert results["emulator_floor"]["bus_trip_ms"]["n"] == 3
    per_call = results["emulator_floor"]["client_cpu_ms_per_call"]
    assert set(per_call) == {
        "sns.PublishBatch",
        "sqs.ReceiveMessage",
        "sqs.DeleteMessageBatch",
        "s3.PutObject",
        "s3.GetObject",
    }
    assert all(ms > 0 for ms in per_call.values())
    # a job publishes four events and each is received and deleted once: at least 12 calls
    assert sum(results["calendar_1k"]["aws_calls_per_job"].values()) >= 12
    assert set(results["post_todos"]["cpu_ms_per_write"]) >= {"todo-api-web", "postgresql"}
    assert set(results["burst"]["cpu_ms_per_job"]) >= {"ical-worker", "emulator"}
    assert results["burst"]["cores_busy"]["emulator"] > 0
    assert results["burst"]["emulator_processes"] >= 1
    assert len(results["event_store"]) == 2
    assert results["relay"]["events"] == 303
    assert results["relay"]["events_per_second"] > 0
    assert results["relay"]["bulk_events_before_last_quiet_one"] <= 100
    for key in ("isolation", "isolation_make_run"):  # on the bench's system, and make run's
        isolation = results[key]
        assert isolation["idle"]["quiet_ms"]["n"] == 2 * 2
        assert isolation["idle"]["emulator_cores_busy"] > 0
        for case in ("burst", "outage"):
            assert isolation[case]["quiet_ms"]["p50"] > 0
            assert isolation[case]["quiet_p50_ratio"] > 0
            assert isolation[case]["noisy_ms"]["n"] == 2
    assert any(t["target"].endswith("on make run") for t in results["targets"])
    judged = {t["target"] for t in results["targets"]}
    assert {"calendar p50 at 1k", "burst", "rebuild", "GET /todos p99 / p50"} <= judged
    assert (tmp_path / report.with_suffix(".md").name).read_text().startswith("## Benchmark")
    assert (tmp_path / report.with_suffix(".png").name).stat().st_size > 1000
