"""`python -m taskoverflow_events.healthcheck`: the container HEALTHCHECK of every process.

With HEALTHCHECK_URL set (the web process), healthy means that URL answers 200. Otherwise
(relay, consumers), healthy means the process's loop touched LIVENESS_FILE within
LIVENESS_MAX_AGE seconds: a loop that hangs stops touching it, even though the process lives.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

DEFAULT_MAX_AGE = 60.0


class Liveness:
    """What a process's main loop calls each turn; a no-op unless LIVENESS_FILE is set."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Liveness:
        value = (os.environ if environ is None else environ).get("LIVENESS_FILE")
        return cls(Path(value) if value else None)

    def beat(self) -> None:
        if self._path is not None:
            self._path.touch()


def check(environ: Mapping[str, str]) -> bool:
    url = environ.get("HEALTHCHECK_URL")
    if url:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our own URL
                return bool(response.status == 200)
        except OSError:
            return False
    path = environ.get("LIVENESS_FILE")
    if not path:
        return False
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= float(environ.get("LIVENESS_MAX_AGE", DEFAULT_MAX_AGE))


if __name__ == "__main__":
    sys.exit(0 if check(os.environ) else 1)
