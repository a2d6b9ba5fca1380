"""pytest fixtures for the real infrastructure; installed as a pytest11 plugin."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskoverflow_events import topology as topo
from taskoverflow_events.aws import AwsSettings, find_queue_url, find_topic_arn
from taskoverflow_events.bootstrap import Bootstrap
from taskoverflow_testing.moto_server import MotoServer
from taskoverflow_testing.postgres import create_database, drop_database
from taskoverflow_testing.quota_gate import QuotaGate


@dataclass(frozen=True)
class AwsWorld:
    """One test's own copy of the topology (a random name prefix) on the session's moto server."""

    settings: AwsSettings
    topology: topo.Topology

    def topic_arn(self, name: str) -> str:
        return find_topic_arn(self.settings.client("sns"), f"{self.settings.name_prefix}{name}")

    def subscription_into(self, queue: str) -> topo.Subscription:
        """The subscription feeding a service's queue (name without the prefix)."""
        name = f"{self.settings.name_prefix}{queue}"
        return next(s for s in self.topology.subscriptions if s.queue == name)

    def service_filter_policy(self, topic: str, service: str) -> str:
        """The event types `service` receives from `topic` over all its queues (the ical-worker
        takes changes and calendar requests on two), as one SNS filter policy."""
        queues = {q.name for q in self.topology.queues if q.service == service}
        topic_name = self.settings.name_prefix + topic
        types = sorted(
            {
                t
                for s in self.topology.subscriptions
                if s.queue in queues and s.topic == topic_name
                for t in s.event_types
            }
        )
        if not types:
            raise ValueError(f"{service} receives nothing from {topic}")
        return json.dumps({"event_type": types})

    def env(self) -> dict[str, str]:
        """The standard variables a service process reads its AWS settings from."""
        s = self.settings
        return {
            "AWS_ENDPOINT_URL": s.endpoint_url or "",
            "AWS_REGION": s.region,
            "AWS_ACCESS_KEY_ID": s.access_key_id or "",
            "AWS_SECRET_ACCESS_KEY": s.secret_access_key or "",
            "TOPOLOGY_PREFIX": s.name_prefix,
        }

    def queue_url(self, name: str) -> str:
        return find_queue_url(self.settings.client("sqs"), f"{self.settings.name_prefix}{name}")


@dataclass(frozen=True)
class AwsEndpoint:
    """The AWS endpoint the tests talk to: a moto server they started, or LocalStack."""

    url: str
    kind: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsEndpoint]:
    """moto server on a free port, unless TASKOVERFLOW_TEST_AWS_ENDPOINT names another endpoint
    (`make test-localstack` points it at LocalStack, which that target starts and stops)."""
    given = os.environ.get("TASKOVERFLOW_TEST_AWS_ENDPOINT")
    if given:
        yield AwsEndpoint(url=given.rstrip("/"), kind="external")
        return
    server = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield AwsEndpoint(url=server.endpoint_url, kind="moto")
    server.stop()


def aws_settings_for(endpoint_url: str, prefix: str = "") -> AwsSettings:
    return AwsSettings(
        endpoint_url=endpoint_url,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        name_prefix=prefix,
    )


def new_aws_world(endpoint_url: str) -> AwsWorld:
    """The whole topology under a fresh random prefix, so tests never see each other's messages."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    settings = aws_settings_for(endpoint_url, prefix)
    topology = topo.load(prefix=prefix)
    Bootstrap(settings, report=lambda _line: None).apply(topology)
    return AwsWorld(settings=settings, topology=topology)


@pytest.fixture
def aws(aws_endpoint: AwsEndpoint) -> AwsWorld:
    return new_aws_world(aws_endpoint.url)


@pytest.fixture
def quota_gate(aws_endpoint: AwsEndpoint) -> Iterator[QuotaGate]:
    """The session's endpoint behind a gate that refuses what AWS would (quota_gate.py)."""
    gate = QuotaGate(aws_endpoint.url).start()
    yield gate
    gate.stop()


@pytest.fixture
def gated_aws(quota_gate: QuotaGate) -> AwsWorld:
    """A topology of its own, reached through the quota gate."""
    return new_aws_world(quota_gate.endpoint_url)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases, all dropped at the end of the session."""
    made: list[str] = []

    def make() -> str:
        url = create_database()
        made.append(url)
        return url

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return topo.default_path().parent.parent
