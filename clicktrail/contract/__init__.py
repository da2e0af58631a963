"""The event contract shared by snippet, collector, pipelines and services (docs/protocol.md)."""
