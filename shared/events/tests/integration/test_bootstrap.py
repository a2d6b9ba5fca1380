import json

from taskoverflow_events import topology as topo
from taskoverflow_events.bootstrap import Bootstrap
from taskoverflow_testing.plugin import AwsWorld


def test_bootstrap_creates_the_whole_topology_and_a_rerun_changes_nothing(aws: AwsWorld) -> None:
    lines: list[str] = []
    Bootstrap(aws.settings, report=lines.append).apply(aws.topology)
    assert lines
    assert all(line.startswith("exists") for line in lines), lines
    sqs, sns = aws.settings.client("sqs"), aws.settings.client("sns")
    for queue in aws.topology.queues:
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(":" + queue.dead_letter_queue)
        assert int(redrive["maxReceiveCount"]) == queue.max_receive_count
        assert int(attrs["VisibilityTimeout"]) == queue.visibility_timeout
        assert (attrs.get("FifoQueue") == "true") == queue.fifo
    for sub in aws.topology.subscriptions:
        found = [
            s
            for s in sns.list_subscriptions_by_topic(TopicArn=aws.topic_arn(_bare(aws, sub.topic)))[
                "Subscriptions"
            ]
            if s["Endpoint"].endswith(":" + sub.queue)
        ]
        assert len(found) == 1, f"{sub.topic} -> {sub.queue} subscribed {len(found)} times"
        attrs = sns.get_subscription_attributes(SubscriptionArn=found[0]["SubscriptionArn"])
        assert attrs["Attributes"]["RawMessageDelivery"] == "true"
        assert json.loads(attrs["Attributes"]["FilterPolicy"]) == {
            "event_type": list(sub.event_types)
        }
    s3 = aws.settings.client("s3")
    block = s3.get_public_access_block(Bucket=aws.topology.bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())


def test_bootstrap_reports_what_it_created(aws: AwsWorld) -> None:
    other = topo.load(prefix=aws.settings.name_prefix + "x-")
    lines: list[str] = []
    Bootstrap(aws.settings, report=lines.append).apply(other)
    created = [line.split()[1] for line in lines if line.startswith("created")]
    assert created.count("queue") == 2 * len(other.queues)
    assert created.count("topic") == len(other.topics)
    assert created.count("subscription") == len(other.subscriptions)
    assert created.count("bucket") == 1


def test_the_filter_policy_routes_each_event_type_only_to_its_subscribers(aws: AwsWorld) -> None:
    sns, sqs = aws.settings.client("sns"), aws.settings.client("sqs")
    arn = aws.topic_arn("calendar-events")
    for event_type in ("CalendarGenerated", "CalendarReady", "CalendarGenerationStarted"):
        sns.publish(
            TopicArn=arn,
            Message=event_type,
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
        )
    notifier = sqs.receive_message(
        QueueUrl=aws.queue_url("notifier-calendar-events"),
        MaxNumberOfMessages=10,
        WaitTimeSeconds=2,
    )
    todo_api = sqs.receive_message(
        QueueUrl=aws.queue_url("todo-api-calendar-events"),
        MaxNumberOfMessages=10,
        WaitTimeSeconds=2,
    )
    assert [m["Body"] for m in notifier["Messages"]] == ["CalendarGenerated"]
    assert sorted(m["Body"] for m in todo_api["Messages"]) == [
        "CalendarGenerated",
        "CalendarGenerationStarted",
        "CalendarReady",
    ]


def _bare(aws: AwsWorld, name: str) -> str:
    return name.removeprefix(aws.settings.name_prefix)
