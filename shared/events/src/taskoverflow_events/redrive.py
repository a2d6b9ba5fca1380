"""`taskoverflow-redrive QUEUE-dlq`: move a dead-letter queue's messages back to the queue they
came from, once the cause (a bug, an outage) is fixed.

SQS's own StartMessageMoveTask is used where the endpoint has it and the queue is standard. A FIFO
queue, or an endpoint without it (moto), gets the portable loop: receive, send to the source, then
delete, so a crash in between leaves a duplicate, never a loss (every consumer dedups by
event_id). A FIFO message keeps its group, so the owner's order among redriven messages holds,
and gets a fresh deduplication id, or SQS would drop it as a repeat of the original.

A redrive moves what the DLQ held when it began, as SQS's move task does: a message that is still
poison comes straight back, and a loop that ran until the DLQ was empty would never end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_events import quotas
from taskoverflow_events.aws import AwsSettings, find_queue_url
from taskoverflow_events.queue_calls import DEAD_LETTER_REASON, SOURCE_QUEUE


class RedriveError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Redriven:
    moved: int
    method: str  # "move-task" or "receive-send-delete"
    source_url: str


def source_of(sqs: Any, dlq_url: str) -> str:
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        raise RedriveError(
            f"{dlq_url} is the dead-letter queue of {len(sources)} queues; name one with --to"
        )
    return str(sources[0])


def _arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def queue_depth(sqs: Any, url: str, *, in_flight: bool = False) -> int:
    """Messages waiting on a queue (and, with `in_flight`, received and not yet deleted)."""
    names = ["ApproximateNumberOfMessages"]
    if in_flight:
        names.append("ApproximateNumberOfMessagesNotVisible")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(name, 0)) for name in names)


def _move_task(sqs: Any, dlq_url: str, source_url: str, timeout: float) -> int | None:
    """The number moved by SQS itself, or None where the endpoint cannot do it."""
    try:
        sqs.start_message_move_task(
            SourceArn=_arn(sqs, dlq_url), DestinationArn=_arn(sqs, source_url)
        )
    except (ClientError, BotoCoreError):
        # Not there (moto answers 500), not allowed, or refused: the copy loop works anywhere,
        # and a real permission problem will show itself there with a clearer message.
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq_url), MaxResults=1)
        [task] = tasks["Results"][:1] or [{}]
        if task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            if task["Status"] != "COMPLETED":
                raise RedriveError(f"the move task ended {task['Status']}: {task}")
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        time.sleep(0.5)
    raise RedriveError(f"the move task did not finish within {timeout:.0f}s")


def _copy_loop(sqs: Any, dlq_url: str, source_url: str, limit: int) -> int:
    fifo = source_url.endswith(".fifo")
    source = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["MaximumMessageSize"])
    max_bytes = int(
        source["Attributes"].get("MaximumMessageSize", quotas.SQS_CEILING_MAX_MESSAGE_BYTES)
    )
    moved = 0
    empty_polls = 0
    while moved < limit and empty_polls < 2:
        batch = min(10, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            empty_polls += 1
            continue
        empty_polls = 0
        entries = []
        for i, message in enumerate(messages):
            attributes = {
                name: {k: v for k, v in value.items() if k in ("DataType", "StringValue")}
                for name, value in message.get("MessageAttributes", {}).items()
                if name not in (DEAD_LETTER_REASON, SOURCE_QUEUE)
            }
            entry: dict[str, Any] = {
                "Id": str(i),
                "MessageBody": message["Body"],
                "MessageAttributes": attributes,
            }
            if fifo:
                entry["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
                entry["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            entries.append(entry)
        # Ten large messages can be more than one SendMessageBatch may carry: cut by bytes too.
        for part in quotas.batches(
            entries,
            lambda e: quotas.message_bytes(e["MessageBody"], e["MessageAttributes"]),
            max_bytes=max_bytes,
        ):
            sent = sqs.send_message_batch(QueueUrl=source_url, Entries=part)
            if sent.get("Failed"):
                raise RedriveError(f"could not send back: {sent['Failed']}")
        sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
        moved += len(messages)
    return moved


def redrive(
    sqs: Any,
    dlq_url: str,
    *,
    source_url: str | None = None,
    limit: int | None = None,
    prefer_move_task: bool = True,
    timeout: float = 300,
) -> Redriven:
    source = source_url or source_of(sqs, dlq_url)
    if prefer_move_task and limit is None and not dlq_url.endswith(".fifo"):
        moved = _move_task(sqs, dlq_url, source, timeout)
        if moved is not None:
            return Redriven(moved, "move-task", source)
    if limit is None:
        # What the DLQ holds now (approximately, as SQS counts): "left in" says if more remain.
        limit = queue_depth(sqs, dlq_url, in_flight=True)
    return Redriven(_copy_loop(sqs, dlq_url, source, limit), "receive-send-delete", source)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taskoverflow-redrive", description=__doc__)
    parser.add_argument("dlq", help="the dead-letter queue: its name (without the prefix) or URL")
    parser.add_argument("--to", help="the queue to move into (default: the DLQ's only source)")
    parser.add_argument("--max", type=int, help="move at most this many")
    parser.add_argument(
        "--copy", action="store_true", help="use receive/send/delete even where SQS can move"
    )
    args = parser.parse_args(argv)
    aws = AwsSettings.from_env(os.environ)
    sqs = aws.client("sqs")

    def url(name: str) -> str:
        return name if "://" in name else find_queue_url(sqs, aws.name_prefix + name)

    try:
        result = redrive(
            sqs,
            url(args.dlq),
            source_url=url(args.to) if args.to else None,
            limit=args.max,
            prefer_move_task=not args.copy,
        )
    except (RedriveError, ClientError, BotoCoreError) as exc:
        print(f"taskoverflow-redrive: {exc}", file=sys.stderr)
        return 1
    print(f"moved {result.moved} message(s) to {result.source_url} ({result.method})")
    print(f"left in {args.dlq}: {queue_depth(sqs, url(args.dlq))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
