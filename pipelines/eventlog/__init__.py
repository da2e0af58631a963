"""The event log: an ordered, durable, partitioned log of ``LogRecord``s.

Two implementations behind one small interface, chosen by the URL scheme of
``CLICKTRAIL_EVENT_LOG_URL``: Kafka (``kafka://``) at scale, Redis Streams (``redis://``) on one
machine. ``open_event_log`` builds the right one.
"""

from pipelines.eventlog.base import EventLog, LogMessage, LogUnavailable
from pipelines.eventlog.factory import open_event_log

__all__ = ["EventLog", "LogMessage", "LogUnavailable", "open_event_log"]
