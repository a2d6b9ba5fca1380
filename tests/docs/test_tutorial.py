"""The tutorial, run as a reader would: `scripts/run-local` (what `make run` runs) starts the whole
system, each page's `sh` blocks run in one bash session against it, and what they print is
checked against the page's `text` blocks. A page that drifts from the product fails here.

Two things differ from a reader's machine, both so a test run never meets a developer's: the
system listens on free ports (the pages' `localhost:6400` and `127.0.0.1:4566` are rewritten),
and its databases are fresh PostgreSQL ones rather than `make run`'s SQLite files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from taskoverflow_testing.moto_server import MotoServer
from taskoverflow_testing.ports import free_port
from tests.docs.tutorial_pages import Step, missing_lines, steps

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial"
MARK = "@@step@@"
PAGE_TIMEOUT = 180.0
START_TIMEOUT = 60.0

# Each page and the AUTH_MODE its first lines tell the reader to run `make run` with.
PAGES = {
    "queues.md": "none",
    "calendar.md": "none",
    "owners.md": "token",
    "breaking-things.md": "none",
}


def test_every_tutorial_page_is_run_here() -> None:
    on_disk = {p.name for p in TUTORIAL.glob("*.md")} - {"index.md"}
    assert on_disk == set(PAGES), "a new tutorial page needs an entry in PAGES"
    for name in PAGES:
        assert steps((TUTORIAL / name).read_text()), f"{name} has no commands to run"


@contextmanager
def run_local(
    auth_mode: str, postgres_database: Callable[[], str], log: Path
) -> Iterator[dict[str, str]]:
    """scripts/run-local on a private moto server and fresh databases; yields the environment a
    reader's second terminal would have (the project's commands on PATH, the same database)."""
    moto = MotoServer(log_path=log.with_suffix(".moto.log")).start()
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "PORT": str(port),
        "PUBLIC_URL": f"http://localhost:{port}",
        "AUTH_MODE": auth_mode,
        "DATABASE_URL": postgres_database(),
        "ICAL_WORKER_DATABASE_URL": postgres_database(),
        "NOTIFIER_DATABASE_URL": postgres_database(),
        "WEBHOOK_SIGNING_KEY": "tutorial-run-only-webhook-signing-key-0123456789",
        "SERVICE_TOKEN": "tutorial-service-token",
    }
    env.pop("TOPOLOGY_PREFIX", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run-local")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # The reader's second terminal: the project's commands on PATH and, standing in for make
    # run's defaults, its database and public address; none of the server's secrets, and no
    # AWS settings (the pages export those where they need them).
    reader = {
        key: value
        for key, value in env.items()
        if not key.startswith("AWS_")
        and key not in ("WEBHOOK_SIGNING_KEY", "SERVICE_TOKEN", "AUTH_MODE", "PORT")
    }
    try:
        wait_for_health(port, process, log)
        yield {**reader, "TUTORIAL_PORT": str(port), "TUTORIAL_AWS": moto.endpoint_url}
    finally:
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in the reader's terminal
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        moto.stop()


def wait_for_health(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"run-local exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"run-local not healthy within {START_TIMEOUT:.0f}s:\n{log.read_text()}")


def rewrite(text: str, env: dict[str, str]) -> str:
    """The page's addresses as this run's: its commands and the output they print."""
    text = text.replace("localhost:6400", f"localhost:{env['TUTORIAL_PORT']}")
    return text.replace("http://127.0.0.1:4566", env["TUTORIAL_AWS"])


def script(page_steps: list[Step], env: dict[str, str]) -> str:
    """The page's commands as one bash session, each step's output after a marker line."""
    body = ["set -euo pipefail"]
    for step in page_steps:
        body += [f"echo {MARK}", rewrite(step.commands, env)]
    return "\n".join(body) + "\n"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_tutorial_page_does_what_it_says(
    page: str, postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    page_steps = steps((TUTORIAL / page).read_text())
    log = tmp_path / "run-local.log"
    with run_local(PAGES[page], postgres_database, log) as env:
        try:
            done = subprocess.run(
                ["bash", "-c", script(page_steps, env)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=PAGE_TIMEOUT,
            )
        except subprocess.TimeoutExpired as stuck:
            raise AssertionError(
                f"{page}: still running after {PAGE_TIMEOUT:.0f} s; it printed:\n"
                f"{(stuck.stdout or b'').decode()}\n{(stuck.stderr or b'').decode()}"
            ) from None
    outputs = done.stdout.split(MARK + "\n")[1:]
    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nsystem:\n{log.read_text()[-6000:]}"
    assert done.returncode == 0, f"{page}: a command failed\n{report}"
    assert len(outputs) == len(page_steps), f"{page}: not every step ran\n{report}"
    for number, (step, output) in enumerate(zip(page_steps, outputs, strict=True), start=1):
        if step.expected is None:
            continue
        missing = missing_lines(rewrite(step.expected, env), output)
        assert not missing, (
            f"{page}, step {number}: expected lines not printed, from {missing[0]!r}\n"
            f"commands:\n{step.commands}\noutput:\n{output}\n{report}"
        )
