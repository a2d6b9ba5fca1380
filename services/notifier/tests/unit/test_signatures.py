from notifier.webhooks import sign, verify

SECRET = "s3cr3t-for-tests"
BODY = b'{"job_id":"x","outcome":"success"}'


def test_a_signature_verifies_with_the_same_secret_body_and_a_fresh_timestamp() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, header, BODY, now=1_700_000_010)


def test_a_changed_body_or_secret_fails() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not verify("other", header, BODY, now=1_700_000_000)


def test_a_replay_outside_the_tolerance_fails() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY, now=1_700_000_000 + 301)


def test_garbage_headers_fail_cleanly() -> None:
    for header in ("", "v1=abc", "t=notanumber,v1=abc", "t=1,v1"):
        assert not verify(SECRET, header, BODY, now=1)


def test_during_a_rotation_two_signatures_travel_and_either_secret_verifies() -> None:
    header = sign(["new-secret", "old-secret"], 1_700_000_000, BODY)
    assert header.count("v1=") == 2
    assert header.startswith("t=1700000000,v1=")
    assert verify("new-secret", header, BODY, now=1_700_000_000)
    assert verify("old-secret", header, BODY, now=1_700_000_000)
    assert not verify("another-owners-secret", header, BODY, now=1_700_000_000)
    assert not verify("old-secret", header, BODY + b" ", now=1_700_000_000)


def test_a_header_with_two_timestamps_is_refused() -> None:
    one = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, f"t=1,{one}", BODY, now=1_700_000_000)
