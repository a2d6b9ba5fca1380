"""taskoverflow-queue: send numbered messages to an SQS queue, or watch them arrive.

    taskoverflow-queue --name demo --create --client-name alice          # send 1..100
    taskoverflow-queue --name demo --client-name bob --receive           # watch them arrive

On a standard queue they may arrive out of order and, rarely, twice; on a `.fifo` queue they
arrive in order, once, and sending the same bodies again within five minutes is dropped as a
duplicate. The AWS endpoint comes from AWS_ENDPOINT_URL (moto, LocalStack), or AWS itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from tqdm import tqdm

from taskoverflow_events.aws import AwsSettings

GROUP = "taskoverflow-demo"


class DemoError(Exception):
    """Something the user can fix; printed without a traceback."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="taskoverflow-queue", description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="queue name (ending in .fifo for FIFO)")
    parser.add_argument("--client-name", default="Client 1", help="who you are (default: Client 1)")
    parser.add_argument("--receive", action="store_true", help="print messages as they arrive")
    parser.add_argument("--prepend", default="", help="text put before each message body")
    parser.add_argument("--count", type=int, default=100, help="messages to send (default 100)")
    parser.add_argument("--create", action="store_true", help="create the queue if missing")
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --receive: stop after this long without a message (default: run until Ctrl-C)",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    return args


def queue_url(sqs: Any, name: str, *, create: bool) -> str:
    if create:
        attributes = {}
        if name.endswith(".fifo"):
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise DemoError(f"queue {name!r} does not exist: add --create to make it") from None


def send(sqs: Any, url: str, args: argparse.Namespace, out: TextIO) -> int:
    fifo = url.endswith(".fifo")
    # Numbered from 0, as the practical's screenshots show ("Client 1: Message 0").
    for number in tqdm(range(args.count), desc=f"{args.client_name} sending", file=out):
        message: dict[str, Any] = {
            "QueueUrl": url,
            "MessageBody": f"{args.prepend}Message {number}",
            "MessageAttributes": {
                "client": {"DataType": "String", "StringValue": args.client_name}
            },
        }
        if fifo:
            # One group keeps the order; the body is the deduplication key (content-based).
            message["MessageGroupId"] = GROUP
        sqs.send_message(**message)
    return args.count


def receive(
    sqs: Any,
    url: str,
    args: argparse.Namespace,
    out: TextIO,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    received = 0
    last_message = clock()
    while args.idle_exit is None or clock() - last_message < args.idle_exit:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            attributes = message.get("MessageAttributes", {})
            sender = attributes.get("client", {}).get("StringValue", "?")
            print(f"{sender}: {message['Body']}", file=out)  # "Client 1: Message 0"
            # A message our consumers dead-lettered says why; show it under the message.
            reason = attributes.get("dead_letter_reason", {}).get("StringValue")
            if reason:
                print(f"  dead_letter_reason: {reason}", file=out)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            received += 1
            last_message = clock()
    return received


def main(
    argv: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    args = parse_args(argv)
    aws = AwsSettings.from_env(os.environ if environ is None else environ)
    where = aws.endpoint_url or f"AWS ({aws.region})"
    try:
        sqs = aws.client("sqs", connect_timeout=2, read_timeout=10)
        url = queue_url(sqs, args.name, create=args.create)
        if args.receive:
            print(
                f"{args.client_name} listening on {args.name} at {where} (Ctrl-C stops)", file=out
            )
            receive(sqs, url, args, out)
        else:
            sent = send(sqs, url, args, out)
            print(f"{args.client_name} sent {sent} messages to {args.name} at {where}", file=out)
    except KeyboardInterrupt:
        return 0
    except DemoError as exc:
        print(f"taskoverflow-queue: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError:
        print(
            f"taskoverflow-queue: cannot reach SQS at {where}: is the emulator running "
            "(make run starts moto on 127.0.0.1:4566), or is AWS_ENDPOINT_URL right?",
            file=sys.stderr,
        )
        return 2
    except (NoCredentialsError, NoRegionError) as exc:
        print(f"taskoverflow-queue: {exc} (set AWS_ACCESS_KEY_ID / AWS_REGION)", file=sys.stderr)
        return 2
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(
            f"taskoverflow-queue: SQS said {error.get('Code')}: {error.get('Message')}",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
