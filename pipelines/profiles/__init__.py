"""Visitor profiles in Redis: the pure aggregation (``aggregate``), the sink that writes it
exactly once (``sink``), reading (``reader``) and rebuilding from the event store
(``rebuild``). docs/profiles.md describes the layout and the rules."""

from pipelines.profiles.aggregate import aggregate
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position
from pipelines.profiles.profile import Profile
from pipelines.profiles.reader import load_coviews, load_profile
from pipelines.profiles.rebuild import rebuild
from pipelines.profiles.sink import ApplyResult, ProfileSink, ProfileSinkError

__all__ = [
    "ApplyResult",
    "Position",
    "Profile",
    "ProfileConfig",
    "ProfileSink",
    "ProfileSinkError",
    "aggregate",
    "load_coviews",
    "load_profile",
    "rebuild",
]
