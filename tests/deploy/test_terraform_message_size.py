"""infra/terraform against SNS's and SQS's message size limits, parsed by python-hcl2: a
publisher checks an event's size against its topic's limit, and every queue must accept it."""

from typing import Any

from tests.deploy.conftest import load_terraform, resources, text


def task_policy_statements() -> dict[str, dict[str, Any]]:
    """The task roles' dynamic statements, by sid."""
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get("task")
            if document:
                contents = [d["statement"]["content"][0] for d in document["dynamic"]]
                return {c["sid"]: c for c in contents}
    raise KeyError("aws_iam_policy_document.task")


def test_publishers_may_read_their_own_topics_limit() -> None:
    publish = task_policy_statements()["PublishOwnTopic"]
    assert set(publish["actions"]) == {"sns:Publish", "sns:GetTopicAttributes"}
    assert publish["resources"] == ["${aws_sns_topic.this[statement.value].arn}"]


def test_every_queue_accepts_what_its_topic_may_send() -> None:
    from taskoverflow_events import quotas

    for name, queue in resources("aws_sqs_queue").items():
        assert queue.get("max_message_size") == "${var.message_max_bytes}", name
    default = next(
        block["message_max_bytes"]["default"]
        for parsed in load_terraform().values()
        for block in parsed.get("variable", [])
        if "message_max_bytes" in block
    )
    assert default >= quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES
    assert "MaximumMessageSize" not in text(resources("aws_sns_topic")["this"]), (
        "a topic's own limit would need the queues' raised with it"
    )
