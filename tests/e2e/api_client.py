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
    token: str | None = None

    def __post_init__(self) -> None:
        self.session = requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"

    def headers(self) -> dict[str, str]:
        """What this client sends on every request (its token), for a raw request."""
        return {k: str(v) for k, v in self.session.headers.items() if k == "Authorization"}

    def list_todos(self) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.base_url}/api/v1/todos", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def create_todo(self, title: str, **fields: Any) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}/api/v1/todos", json={"title": title, **fields}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def update_todo(self, todo_id: int, **fields: Any) -> dict[str, Any]:
        response = self.session.put(
            f"{self.base_url}/api/v1/todos/{todo_id}", json=fields, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def request_calendar(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/api/v1/todos/ical"
        response = (
            self.session.post(url, json=body, timeout=10)
            if body
            else self.session.post(url, timeout=10)
        )
        assert response.status_code == 202, response.text
        return response.json()  # type: ignore[no-any-return]

    def status(self, task_url: str, wait: float | None = None) -> dict[str, Any]:
        params = {"wait": f"{wait:.2f}"} if wait else None
        response = self.session.get(task_url, params=params, timeout=10 + (wait or 0))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_for_job(self, task_url: str, timeout: float = 30.0) -> dict[str, Any]:
        """Long-polls, as the web UI does; each answer comes when the job finishes or 5 s pass."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            status = self.status(task_url, wait=min(5.0, max(remaining, 0.01)))
            if status["task_status"] in ("SUCCESS", "FAILURE"):
                return status
        raise JobTimedOut(f"{task_url} not finished after {timeout}s: {self.status(task_url)}")

    def result(self, result_url: str) -> requests.Response:
        return self.session.get(result_url, timeout=30)
