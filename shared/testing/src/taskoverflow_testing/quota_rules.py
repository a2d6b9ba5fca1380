"""What AWS refuses, as the quota gate checks it: SNS's query-protocol forms and SQS's JSON
requests against the limits in taskoverflow_events.quotas, each refusal with AWS's own code.

The sizes are counted by AWS's documented rule (body plus every attribute's name, data type and
value); tests/quotas/test_limits.py holds the gate to LocalStack's own verdicts where LocalStack
enforces a limit, and to byte counts written out by hand where nothing does.
"""

from __future__ import annotations

import re
from typing import Any

from taskoverflow_events import quotas


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def members(form: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """The query protocol's list `prefix.N.field=value`, as one dict per member, in order."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if key.startswith(prefix + "."):
            index, _, rest = key[len(prefix) + 1 :].partition(".")
            found.setdefault(int(index), {})[rest] = value
    return [found[i] for i in sorted(found)]


def attribute(form: dict[str, str], prefix: str, name: str) -> str | None:
    for entry in members(form, prefix):
        if entry.get("key") == name:
            return entry.get("value")
    return None


def sns_attributes(fields: dict[str, str]) -> dict[str, dict[str, str]]:
    attributes: dict[str, dict[str, str]] = {}
    for entry in members(fields, "MessageAttributes.entry"):
        value = {k.removeprefix("Value."): v for k, v in entry.items() if k.startswith("Value.")}
        attributes[entry.get("Name", "")] = value
    return attributes


def sns_size(fields: dict[str, str]) -> int:
    """Stricter than AWS here: SNS accepts over ten attributes, then drops raw delivery to SQS."""
    count = len(sns_attributes(fields))
    if count > quotas.MAX_MESSAGE_ATTRIBUTES:
        raise Refusal(
            "InvalidParameter",
            f"Invalid parameter: {count} message attributes; raw delivery to SQS allows "
            f"{quotas.MAX_MESSAGE_ATTRIBUTES} and would drop this message",
        )
    return quotas.message_bytes(fields.get("Message", ""), sns_attributes(fields))


def check_sns(form: dict[str, str], limit: int) -> None:
    """`limit`: the topic's MaximumMessageSize."""
    action = form.get("Action")
    if action == "PublishBatch":
        entries = members(form, "PublishBatchRequestEntries.member")
        if len(entries) > quotas.MAX_BATCH_ENTRIES:
            raise Refusal(
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
            )
        sizes = [sns_size(e) for e in entries]
        if sum(sizes) > limit or any(s > limit for s in sizes):
            raise Refusal(
                "BatchRequestTooLong",
                "The length of all the messages put together is more than the limit.",
            )
    elif action == "Publish" and sns_size(form) > limit:
        raise Refusal("InvalidParameter", "Invalid parameter: Message too long")


def check_sqs(target: str, request: dict[str, Any]) -> None:
    """The emulators enforce SQS's sizes and entry counts; the attribute count they do not."""
    if target.endswith(".SendMessageBatch"):
        entries = request.get("Entries", [])
        if len(entries) > quotas.MAX_BATCH_ENTRIES:
            raise Refusal(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are {quotas.MAX_BATCH_ENTRIES}.",
            )
    elif target.endswith(".SendMessage"):
        entries = [request]
    else:
        return
    for entry in entries:
        count = len(entry.get("MessageAttributes") or {})
        if count > quotas.MAX_MESSAGE_ATTRIBUTES:
            raise Refusal(
                "InvalidParameterValue",
                f"Number of message attributes [{count}] exceeds the allowed maximum "
                f"[{quotas.MAX_MESSAGE_ATTRIBUTES}].",
            )


def topic_arn_in(answer: bytes) -> str | None:
    found = re.search(rb"<TopicArn>([^<]+)</TopicArn>", answer)
    return found.group(1).decode() if found else None
