"""Fault 2: the AWS endpoint is unreachable for ten seconds while a user keeps working."""

from __future__ import annotations

import time

from taskoverflow_testing.queues import TopicTap, bodies
from taskoverflow_testing.tcp_proxy import TcpProxy
from tests.faults.conftest import StartSystem, summaries

OUTAGE_SECONDS = 10


def test_writes_made_while_aws_is_down_all_arrive_once_in_order_and_the_job_succeeds(
    start: StartSystem, aws_proxy: TcpProxy
) -> None:
    system = start(proxy=aws_proxy)
    # Watch the topic directly (not through the proxy): what the relay published, and when.
    tap = TopicTap(system.aws.settings, system.aws.topic_arn("todo-events.fifo"))
    aws_proxy.down()
    down_at = time.monotonic()
    titles = []
    for n in range(100):
        titles.append(
            system.api.create_todo(f"offline {n}", deadline_at="2027-03-01T09:00:00")["title"]
        )
    job = system.api.request_calendar()
    writes_took = time.monotonic() - down_at
    assert tap.read(1, timeout=max(0.5, OUTAGE_SECONDS - writes_took - 1)) == [], (
        "nothing can be published while the endpoint is down"
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
    aws_proxy.up()

    done = system.api.wait_for_job(job["task_url"], timeout=90)
    assert done["task_status"] == "SUCCESS", system.logs()
    assert summaries(system.api.result(done["result_url"]).content) == sorted(titles)
    published = bodies(tap.read(101, timeout=60, settle=2))
    assert len({e["event_id"] for e in published}) == len(published) == 101, "once each"
    changes = [e["sequence"] for e in published if e["event_type"] == "TodoChanged"]
    assert changes == list(range(1, 101)), "the changes in their order"
    # The request travels in a FIFO group of its own: the relay sends it ahead of the backlog of
    # changes it meets after the outage (ADR 8), and the calendar still holds all 100 (above).
    [request] = [e for e in published if e["event_type"] == "CalendarRequested"]
    assert request["sequence"] == 101
    assert published.index(request) < 50, "the request went ahead of the backlog"
    print(
        f"100 writes + 1 request took {writes_took:.1f}s with AWS down; job done after it came back"
    )
