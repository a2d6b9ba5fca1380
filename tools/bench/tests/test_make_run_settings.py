"""The bench measures `make run` with scripts/run-local's settings, read from the script itself;
and the queue `make run` keeps shallow (ADR 15) is one the relay's changes really go to, so a
renamed queue cannot switch the backpressure off unnoticed."""

from taskoverflow_bench.make_run_system import run_local_defaults

from taskoverflow_events import topology


def test_the_bench_reads_make_runs_defaults_from_the_script() -> None:
    defaults = run_local_defaults()
    assert defaults["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert defaults["DATABASE_URL"] == "sqlite:///.data/todo-api.db"
    assert "TODO_API_TOKEN" not in defaults, "a default made of another variable is not plain"


def test_make_run_holds_changes_for_the_queue_that_takes_them() -> None:
    named = run_local_defaults()["RELAY_BACKPRESSURE_QUEUES"].split(",")
    taking_changes = {
        s.queue
        for s in topology.load().subscriptions
        if s.topic == "todo-events.fifo" and "TodoChanged" in s.event_types
    }
    assert taking_changes, "no queue takes the relay's changes"
    assert set(named) == taking_changes
