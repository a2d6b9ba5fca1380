"""Metrics are log lines CloudWatch can read as embedded metric format (EMF), and stay readable
in console logs."""

import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import structlog

from taskoverflow_events import logs
from taskoverflow_events.metrics import Metric, document, emit


def test_a_document_names_namespace_dimensions_units_and_carries_every_value() -> None:
    doc = document(
        "TaskOverflow/prod",
        {"Service": "todo-api", "Process": "relay"},
        [Metric("Age", 12.5, "Seconds"), Metric("Waiting", 3, "Count")],
        now=1_796_000_000.25,
    )
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert doc["_aws"]["Timestamp"] == 1_796_000_000_250
    assert directive["Namespace"] == "TaskOverflow/prod"
    assert directive["Dimensions"] == [["Process", "Service"]]
    assert directive["Metrics"] == [
        {"Name": "Age", "Unit": "Seconds"},
        {"Name": "Waiting", "Unit": "Count"},
    ]
    # EMF reads each dimension's and metric's value from the same name at the top level.
    for name in [*directive["Dimensions"][0], *(m["Name"] for m in directive["Metrics"])]:
        assert name in doc
    assert (doc["Age"], doc["Waiting"], doc["Service"]) == (12.5, 3, "todo-api")


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the process's log handler writes (it is made inside the test, on captured stderr)."""
    yield lambda: capsys.readouterr().err
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_json_logs_put_the_emf_block_at_the_top_level_of_the_line(
    stderr: Callable[[], str],
) -> None:
    logs.configure("todo-api.relay", json=True)
    emit(
        structlog.get_logger("t"),
        "outbox lag",
        namespace="TaskOverflow",
        dimensions={"Service": "todo-api"},
        metrics=[Metric("Age", 1.0, "Seconds")],
    )
    [line] = [json.loads(x) for x in stderr().splitlines()]
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "Age", "Unit": "Seconds"}]
    assert line["Age"] == 1.0
    assert line["message"] == "outbox lag"


def test_console_logs_keep_the_values_and_drop_cloudwatchs_directions(
    stderr: Callable[[], str],
) -> None:
    logs.configure("todo-api.relay", json=False)
    emit(
        structlog.get_logger("t"),
        "outbox lag",
        namespace="TaskOverflow",
        dimensions={"Service": "todo-api"},
        metrics=[Metric("Age", 1.0, "Seconds")],
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", stderr())  # without the console's colours
    assert "Age=1.0" in out
    assert "_aws" not in out
