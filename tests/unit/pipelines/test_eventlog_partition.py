"""Records are placed as Kafka's Java client places them (murmur2 of the key), remembered or
not: a visitor's records must stay in one partition whichever client wrote them."""

from __future__ import annotations

import pytest

from pipelines.eventlog.kafka import key_hash

# murmur2 of these keys as the Java client computes it (Kafka's own UtilsTest)
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
}


@pytest.mark.parametrize(("key", "java"), JAVA_MURMUR2.items())
def test_key_hash_is_the_java_clients_positive_murmur2(key: bytes, java: int) -> None:
    assert key_hash(key) == java & 0x7FFFFFFF
    assert key_hash(key) == java & 0x7FFFFFFF  # the remembered answer is the same
