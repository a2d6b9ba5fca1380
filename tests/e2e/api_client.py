"""A client that speaks TaskOverflow's domain over HTTP, with every wait bounded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests


class JobTimedOut(AssertionError):
    pass


@dataclass
class TodoApiClient:
    base_url: str

    def create_todo(self, title: str, **fields: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.base_url}/api/v1/todos", json={"title": title, **fields}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def update_todo(self, todo_id: int, **fields: Any) -> dict[str, Any]:
        response = requests.put(f"{self.base_url}/api/v1/todos/{todo_id}", json=fields, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def request_calendar(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/api/v1/todos/ical"
        response = (
            requests.post(url, json=body, timeout=10) if body else requests.post(url, timeout=10)
        )
        assert response.status_code == 202, response.text
        return response.json()  # type: ignore[no-any-return]

    def status(self, task_url: str) -> dict[str, Any]:
        response = requests.get(task_url, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_for_job(self, task_url: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(task_url)
            if status["task_status"] in ("SUCCESS", "FAILURE"):
                return status
            time.sleep(0.05)
        raise JobTimedOut(f"{task_url} not finished after {timeout}s: {self.status(task_url)}")

    def result(self, result_url: str) -> requests.Response:
        return requests.get(result_url, timeout=30)
