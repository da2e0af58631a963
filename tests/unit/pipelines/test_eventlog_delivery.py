import pytest

from pipelines.eventlog.delivery import DeliveryWatch


def test_a_partition_fails_from_its_first_failure_once_it_failed_twice():
    watch = DeliveryWatch(unready_after=1.0, stuck_after=3.0)
    assert watch.failing_for(0.0) is None
    watch.failed(0, now=10.0)
    assert watch.failing_for(20.0) is None  # one late acknowledgement is not a failing partition
    watch.failed(0, now=10.5)
    assert watch.failing_for(10.9) == pytest.approx(0.9)
    assert not watch.unready(10.9)
    assert watch.unready(11.0) and not watch.stuck(12.9)
    assert watch.stuck(13.0)


def test_an_acknowledgement_clears_only_its_partition():
    watch = DeliveryWatch(unready_after=1.0, stuck_after=3.0)
    for partition in (0, 1):
        watch.failed(partition, now=0.0)
        watch.failed(partition, now=0.1)
    watch.acknowledged(0)
    assert watch.stuck(5.0)  # partition 1 still delivers nothing: a partial wedge counts
    watch.acknowledged(1)
    assert watch.failing_for(5.0) is None and not watch.unready(5.0)


def test_reset_forgets_everything():
    watch = DeliveryWatch(unready_after=1.0, stuck_after=3.0)
    watch.failed("a", 0.0)
    watch.failed("a", 0.0)
    watch.reset()
    assert not watch.stuck(100.0)
