import os
import time
from pathlib import Path

from taskoverflow_events.healthcheck import Liveness, check


def test_a_fresh_liveness_file_is_healthy_and_a_stale_or_missing_one_is_not(tmp_path: Path) -> None:
    alive = tmp_path / "alive"
    env = {"LIVENESS_FILE": str(alive), "LIVENESS_MAX_AGE": "30"}
    assert not check(env), "no beat yet"
    Liveness.from_env(env).beat()
    assert check(env)
    old = time.time() - 31
    os.utime(alive, (old, old))
    assert not check(env)


def test_without_a_liveness_file_the_beat_is_a_no_op_and_nothing_is_healthy() -> None:
    Liveness.from_env({}).beat()
    assert not check({})


def test_an_unanswered_health_url_is_unhealthy() -> None:
    assert not check({"HEALTHCHECK_URL": "http://127.0.0.1:9/health"})
