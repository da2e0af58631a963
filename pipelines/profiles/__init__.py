"""Visitor profiles in Redis. docs/profiles.md describes the layout and the rules.

Read side: ``store`` (the ``ProfileStore`` interface), ``redis_store`` (its Redis
implementation), ``profile`` (the decoded ``Profile``). Write side: ``aggregate`` (rows to
deltas, pure), ``sink`` (applies them exactly once), ``rebuild`` (from the event store).
Both sides share ``stored`` (every key and field, and their encodings) and ``clients`` (how
each connects).

Importing the package loads nothing: a reader imports ``pipelines.profiles.store`` without
pulling in the sink or the rebuild. The names below are still importable from the package
(``from pipelines.profiles import ProfileSink``); each loads its module on first use. The
functions ``aggregate`` and ``rebuild`` are not among them: a lazy name cannot share its name
with a submodule, so import them from their modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Type checkers see the read side's names; the write side's stay out even here, because the
# layer contracts (setup.cfg, import-linter) count these imports too: a reader importing from
# the package would otherwise "import" the sink.
if TYPE_CHECKING:
    from pipelines.profiles.config import ProfileConfig
    from pipelines.profiles.position import Position
    from pipelines.profiles.profile import Profile
    from pipelines.profiles.redis_store import RedisProfileStore
    from pipelines.profiles.store import (
        Coview,
        ProfileStore,
        ProfileStoreError,
        ProfileStoreUnavailable,
    )

_EXPORTS = {
    "ApplyResult": "sink",
    "Coview": "store",
    "Position": "position",
    "Profile": "profile",
    "ProfileConfig": "config",
    "ProfileSink": "sink",
    "ProfileSinkError": "sink",
    "ProfileStore": "store",
    "ProfileStoreError": "store",
    "ProfileStoreUnavailable": "store",
    "RedisProfileStore": "redis_store",
}

__all__ = [
    "ApplyResult",
    "Coview",
    "Position",
    "Profile",
    "ProfileConfig",
    "ProfileSink",
    "ProfileSinkError",
    "ProfileStore",
    "ProfileStoreError",
    "ProfileStoreUnavailable",
    "RedisProfileStore",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
