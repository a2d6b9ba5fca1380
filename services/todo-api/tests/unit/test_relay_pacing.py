"""A relay pass is about a quarter of a second of SNS calls: whole while calls are quick, one
call's worth while each takes that long, and whole again once SNS is quick again."""

from todo_api.relay.pacing import PassPacing


def test_a_pass_is_whole_until_calls_are_seen_to_be_slow_and_whole_again_after() -> None:
    pacing = PassPacing(batch_size=100, pass_seconds=0.25)
    assert pacing.budget() == 100, "nothing seen yet"
    pacing.observed(100, 0.2)  # ten calls of 20 ms
    assert pacing.budget() == 100
    for _ in range(3):
        pacing.observed(100, 3.0)  # ten calls of 300 ms (moto, a deep queue)
    assert pacing.budget() == 10, "one PublishBatch a pass, never less"
    pacing.observed(20, 0.2)  # two calls of 100 ms, smoothed with the slow ones
    assert 10 <= pacing.budget() < 100
    for _ in range(6):
        pacing.observed(100, 0.1)
    assert pacing.budget() == 100


def test_nothing_published_teaches_nothing() -> None:
    pacing = PassPacing(batch_size=50)
    pacing.observed(0, 5.0)
    assert pacing.budget() == 50
