"""Metrics as log lines in CloudWatch's embedded metric format (EMF).

A process writes a metric as one JSON log line that carries an `_aws` block naming the
namespace, dimensions and units; CloudWatch Logs turns each such line into metric data points
as it ingests the log (ECS's awslogs driver is enough: no agent, no extra API calls, no
credentials). Terraform alarms on those metrics. Every process already writes JSON logs, so a
new metric is one call here, and the same figure stays readable in the log itself (with
`make run`'s console logs the `_aws` block is left out).

Why EMF rather than PutMetricData or a Prometheus endpoint: it costs the process nothing but a
line of output, cannot fail or block the caller when CloudWatch is slow, and needs no IAM
permission. Later metrics reuse `emit`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

DEFAULT_NAMESPACE = "TaskOverflow"


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: float
    unit: str  # a CloudWatch unit: Seconds, Count, Milliseconds, Bytes, ...


def document(
    namespace: str, dimensions: Mapping[str, str], metrics: list[Metric], *, now: float
) -> dict[str, Any]:
    """The EMF fields of one log line: the `_aws` block plus each dimension and metric value."""
    return {
        "_aws": {
            "Timestamp": int(now * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": m.name, "Unit": m.unit} for m in metrics],
                }
            ],
        },
        **dimensions,
        **{m.name: m.value for m in metrics},
    }


def emit(
    logger: Any,
    message: str,
    *,
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: list[Metric],
) -> None:
    """Write `metrics` as one INFO line (a LOG_LEVEL above INFO silences metrics too)."""
    logger.info(message, **document(namespace, dimensions, metrics, now=time.time()))


def drop_emf_block(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """For console logs: the values stay, CloudWatch's directions go."""
    event_dict.pop("_aws", None)
    return event_dict
