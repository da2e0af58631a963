"""Build the event log named by the settings."""

from __future__ import annotations

from clicktrail.settings import KafkaTarget, Settings
from pipelines.eventlog.base import EventLog


def open_event_log(settings: Settings, ack_timeout: float | None = None) -> EventLog:
    """The Kafka or Redis Streams log of ``CLICKTRAIL_EVENT_LOG_URL``, not yet connected.
    ``ack_timeout`` (seconds) overrides the collector's bound, for workers and tools."""
    target = settings.event_log_url
    retention_ms = settings.event_log_retention_hours * 3_600_000
    if ack_timeout is None:
        ack_timeout = settings.ack_timeout_ms / 1000
    if isinstance(target, KafkaTarget):
        from pipelines.eventlog.kafka import KafkaLog

        kind = KafkaLog
        if settings.kafka_producer == "confluent":
            from pipelines.eventlog.confluent import ConfluentKafkaLog

            kind = ConfluentKafkaLog
        return kind(
            target.bootstrap_servers,
            target.topic,
            partitions=settings.event_log_partitions,
            replication=settings.event_log_replication,
            retention_ms=retention_ms,
            linger_ms=settings.kafka_linger_ms,
            delivery_timeout_ms=settings.kafka_delivery_timeout_ms,
            ack_timeout=ack_timeout,
        )
    from pipelines.eventlog.redis_streams import RedisStreamLog

    assert target.stream is not None  # the URL parser requires it
    return RedisStreamLog(
        target.url,
        target.stream,
        partitions=settings.event_log_partitions,
        retention_ms=retention_ms,
        ack_timeout=ack_timeout,
    )
