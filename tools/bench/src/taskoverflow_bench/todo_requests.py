"""todo-api's own requests, timed on the client's side of HTTP so that a figure is what a client
waits for: the web server, the application and the database commit together."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from taskoverflow_bench.client_timing import percentiles, session, timed
from taskoverflow_bench.system import Stack


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


def get_todos(stack: Stack, count: int) -> dict[str, Any]:
    latencies = [
        timed(lambda: session().get(f"{stack.api}/api/v1/todos", timeout=30).raise_for_status())
        for _ in range(count)
    ]
    return {"latency_ms": percentiles(latencies)}
