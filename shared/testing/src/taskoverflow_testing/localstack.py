"""LocalStack's open-source runtime run natively (no Docker) from .venv-localstack."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

from taskoverflow_testing.ports import free_port
from taskoverflow_testing.processes import stop_process

REPO = Path(__file__).resolve().parents[4]


def localstack_python() -> Path | None:
    """The venv's python, creating the venv if a Python 3.13 exists; None when none does."""
    result = subprocess.run(
        [str(REPO / "scripts" / "localstack-venv")], capture_output=True, text=True, check=False
    )
    return Path(result.stdout.strip()) if result.returncode == 0 else None


class LocalStack:
    def __init__(self, python: Path, root: Path) -> None:
        self.port = free_port()
        self._python = python
        self._root = root
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """One INFO line per API call ("AWS sqs.ReceiveMessage => 200"), so calls can be counted."""
        return self._root / "localstack.log"

    def start(self, timeout: float = 90) -> LocalStack:
        self._root.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "SERVICES": "sns,sqs,s3",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DNS_ADDRESS": "0",
            "LOCALSTACK_HOST": f"127.0.0.1:{self.port}",
            "SQS_ENDPOINT_STRATEGY": "off",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(self._root),
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self._process = subprocess.Popen(
            [str(self._python), "-m", "localstack.runtime.main"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/_localstack/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise TimeoutError("LocalStack did not come up")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        """Its shutdown can hang: ten seconds, then SIGKILL."""
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None
