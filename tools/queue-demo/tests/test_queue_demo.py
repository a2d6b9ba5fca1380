"""The queue demo against a real SQS endpoint (the session's moto server, over HTTP)."""

import io
import uuid

import boto3
import pytest
from taskoverflow_queue_demo.cli import main

from taskoverflow_testing.plugin import AwsEndpoint
from taskoverflow_testing.ports import free_port


def env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


def run(endpoint: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), environ=env(endpoint), out=out)
    return code, out.getvalue()


def bodies(output: str) -> list[str]:
    """The received messages' bodies, from lines like the practical's "Client 1: Message 0"."""
    lines = [line for line in output.splitlines() if ": " in line and "Message " in line]
    return [line.split(": ", 1)[1] for line in lines]


def test_a_fifo_queue_delivers_in_order_once_and_drops_resent_bodies(
    aws_endpoint: AwsEndpoint,
) -> None:
    name = f"demo-{uuid.uuid4().hex[:8]}.fifo"
    assert run(aws_endpoint.url, "--name", name, "--create")[0] == 0
    assert run(aws_endpoint.url, "--name", name)[0] == 0  # the same bodies again
    code, output = run(
        aws_endpoint.url,
        "--name",
        name,
        "--client-name",
        "Client 2",
        "--receive",
        "--idle-exit",
        "2",
    )
    assert code == 0
    assert bodies(output) == [f"Message {n}" for n in range(100)], "in order; the resend dropped"
    first = next(line for line in output.splitlines() if "Message" in line)
    assert first == "Client 1: Message 0", "as the practical's screenshots show"


def test_a_standard_queue_delivers_every_message(aws_endpoint: AwsEndpoint) -> None:
    name = f"demo-{uuid.uuid4().hex[:8]}"
    code, output = run(
        aws_endpoint.url, "--name", name, "--create", "--count", "30", "--prepend", "hello "
    )
    assert code == 0
    assert f"sent 30 messages to {name}" in output
    _, received = run(aws_endpoint.url, "--name", name, "--receive", "--idle-exit", "2")
    assert sorted(bodies(received), key=lambda b: int(b.split()[-1])) == [
        f"hello Message {n}" for n in range(30)
    ]


def test_a_missing_queue_is_a_clear_error(
    aws_endpoint: AwsEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(aws_endpoint.url, "--name", f"absent-{uuid.uuid4().hex[:6]}")
    assert code == 2
    assert "does not exist: add --create" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(f"http://127.0.0.1:{free_port()}", "--name", "demo", "--create")
    assert code == 2
    assert "cannot reach SQS" in capsys.readouterr().err


def test_a_dead_lettered_message_shows_why(aws_endpoint: AwsEndpoint) -> None:
    """Watching a DLQ with the demo shows the reason our consumers attach to poison."""

    name = f"demo-{uuid.uuid4().hex[:8]}-dlq"
    run(aws_endpoint.url, "--name", name, "--create", "--count", "1")
    sqs = boto3.client(
        "sqs",
        endpoint_url=aws_endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="not an event",
        MessageAttributes={
            "dead_letter_reason": {"DataType": "String", "StringValue": "not JSON"},
        },
    )
    _, received = run(aws_endpoint.url, "--name", name, "--receive", "--idle-exit", "2")
    lines = received.splitlines()
    assert "?: not an event" in lines
    assert lines[lines.index("?: not an event") + 1] == "  dead_letter_reason: not JSON"
