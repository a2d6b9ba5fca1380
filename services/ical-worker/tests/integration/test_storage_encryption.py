"""Calendars are encrypted with the bucket's KMS key, as the Terraform sets the bucket up: the
worker's requests name no encryption of their own, which would override it (ADR 13)."""

from __future__ import annotations

import uuid

import pytest
from ical_worker.storage import PART_BYTES, CalendarStore

from taskoverflow_events.calendar_keys import job_key
from taskoverflow_testing.plugin import AwsWorld


@pytest.fixture
def kms_bucket(aws: AwsWorld) -> tuple[str, str]:
    """The topology's bucket with a KMS key as its default encryption, as
    infra/terraform/storage.tf makes it: the bucket's name and the key's ARN."""
    key = aws.settings.client("kms").create_key(Description="calendars")["KeyMetadata"]["Arn"]
    aws.settings.client("s3").put_bucket_encryption(
        Bucket=aws.topology.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return aws.topology.bucket, key


@pytest.mark.integration
@pytest.mark.parametrize(
    "size", [1024, PART_BYTES + 1024], ids=["one PutObject", "a multipart upload"]
)
def test_a_calendar_is_encrypted_with_the_buckets_kms_key(
    aws: AwsWorld, kms_bucket: tuple[str, str], size: int
) -> None:
    bucket, key_arn = kms_bucket
    s3 = aws.settings.client("s3")
    key = job_key("alice", uuid.uuid4())
    body = b"BEGIN:VCALENDAR\r\n".ljust(size, b"x")
    CalendarStore(s3, bucket).put(key, [body[i : i + 65536] for i in range(0, size, 65536)])
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn
    # What the web process serves back (its role may kms:Decrypt with that key: iam.tf).
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
