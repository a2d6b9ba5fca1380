"""The calendar bucket's lifecycle on a real endpoint: job calendars expire, live feeds never."""

import uuid

from taskoverflow_events.bootstrap import Bootstrap
from taskoverflow_events.calendar_keys import JOB_PREFIX, feed_key, job_key
from taskoverflow_testing.plugin import AwsWorld


def expiring_prefixes(aws: AwsWorld) -> list[str]:
    s3 = aws.settings.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=aws.topology.bucket)["Rules"]
    return [r["Filter"]["Prefix"] for r in rules if "Expiration" in r and r["Status"] == "Enabled"]


def test_only_job_calendars_expire(aws: AwsWorld) -> None:
    assert expiring_prefixes(aws) == [JOB_PREFIX]
    feed, job = feed_key("alice"), job_key("alice", uuid.uuid4())
    assert job.startswith(JOB_PREFIX)
    assert not feed.startswith(JOB_PREFIX)


def test_a_rerun_replaces_an_old_rule_that_expired_the_whole_bucket(aws: AwsWorld) -> None:
    s3 = aws.settings.client("s3")
    s3.put_bucket_lifecycle_configuration(
        Bucket=aws.topology.bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-calendars",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )
    assert expiring_prefixes(aws) == [""]
    Bootstrap(aws.settings, report=lambda _line: None).apply(aws.topology)
    assert expiring_prefixes(aws) == [JOB_PREFIX]
