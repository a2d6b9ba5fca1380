"""Run a service process (`python -m …`) as a real child process, with its log kept for asserts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from taskoverflow_testing.ports import wait_for_port


class ServiceProcess:
    def __init__(
        self,
        module: str,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        name: str | None = None,
        port: int | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.module = module
        self._args = args or []
        self.name = name or module
        self.port = port
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_JSON": "true", **env}
        self.log_path = log_dir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self._args],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if self.port is not None:
            try:
                wait_for_port(self.port, timeout=30)
            except TimeoutError:
                raise RuntimeError(f"{self.name} did not listen:\n{self.log()}") from None
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self._process is None:
            return None
        code = stop_process(self._process, timeout)
        self._process = None
        return code

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after `timeout` (some shutdowns hang); returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode
