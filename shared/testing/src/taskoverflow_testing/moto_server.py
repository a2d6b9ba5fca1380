"""A moto server in its own process, so tests reach it over real HTTP and it does not share
the test's GIL (moto is CPU-bound; in-process it would slow every test and the code under test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskoverflow_testing.ports import free_port, wait_for_port
from taskoverflow_testing.processes import stop_process


class MotoServer:
    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """werkzeug's access log: one line per API call, when a path was given."""
        return self._log_path

    def start(self) -> MotoServer:
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None
