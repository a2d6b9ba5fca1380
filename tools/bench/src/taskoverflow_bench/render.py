"""Calendar render cost, naive regeneration against assembly of pre-rendered events, in one run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ical_worker.render import render_vevent
from ical_worker.store.tables import create_schema, todo_versions
from sqlalchemy import create_engine, text

from taskoverflow_events.schemas.todo_changed import TodoV1


def prepare(db: Path, count: int) -> None:
    """The same todos two ways: as rows (what naive reads) and pre-rendered (the projection)."""
    engine = create_engine(f"sqlite:///{db}")
    create_schema(engine)
    base = datetime(2026, 12, 1, 9)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT, description TEXT,"
                " completed BOOLEAN, deadline_at TIMESTAMP)"
            )
        )
        for start in range(0, count, 5000):
            todos, rendered = [], []
            for i in range(start, min(count, start + 5000)):
                deadline = base + timedelta(minutes=17 * i)
                todo = TodoV1(
                    id=i + 1,
                    title=f"Todo number {i} — with some words",
                    description="A description " * 4,
                    completed=i % 5 == 0,
                    deadline_at=deadline,
                    created_at=base,
                    updated_at=base,
                    version=1,
                )
                todos.append(
                    {
                        "id": todo.id,
                        "title": todo.title,
                        "description": todo.description,
                        "completed": todo.completed,
                        "deadline_at": deadline,
                    }
                )
                rendered.append(
                    {
                        "owner": "bench",
                        "todo_id": todo.id,
                        "valid_from": todo.id,
                        "completed": todo.completed,
                        "deadline_at": deadline,
                        "body": render_vevent("bench", todo),
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO todos VALUES (:id, :title, :description, :completed, :deadline_at)"
                ),
                todos,
            )
            conn.execute(todo_versions.insert(), rendered)
    engine.dispose()


def probe(mode: str, db: Path) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own module, our own arguments
        [sys.executable, "-m", "taskoverflow_bench.render_probe", mode, str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def measure(sizes: list[int], workdir: Path, repeats: int = 3) -> list[dict[str, Any]]:
    results = []
    for count in sizes:
        db = workdir / f"render-{count}.db"
        prepare(db, count)
        baseline = probe("baseline", db)["peak_rss_mb"]
        row: dict[str, Any] = {"todos": count, "baseline_rss_mb": round(baseline, 1)}
        for mode in ("naive", "assembled"):
            runs = [probe(mode, db) for _ in range(repeats if count <= 10_000 else 1)]
            best = min(runs, key=lambda r: r["seconds"])
            row[f"{mode}_ms"] = round(best["seconds"] * 1000, 2)
            row[f"{mode}_peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in runs), 1)
            row[f"{mode}_bytes"] = best["bytes"]
        row["speedup"] = round(row["naive_ms"] / max(row["assembled_ms"], 1e-6), 1)
        # Whole-process peaks, as the baseline table measured them (the interpreter included).
        row["memory_ratio"] = round(row["assembled_peak_rss_mb"] / row["naive_peak_rss_mb"], 3)
        results.append(row)
        print(
            f"render {count:>7} todos: naive {row['naive_ms']} ms / {row['naive_peak_rss_mb']} MB, "
            f"assembled {row['assembled_ms']} ms / {row['assembled_peak_rss_mb']} MB "
            f"(x{row['speedup']} faster, {row['memory_ratio']} of naive's peak memory)",
            flush=True,
        )
    return results
