"""The read side of visitor profiles: what a decision service, a report or an export asks for.

A reader depends on ``ProfileStore``, never on Redis: ``RedisProfileStore``
(``redis_store.py``) serves production, and a test or a new backend plugs in another
implementation of the same methods. This module imports neither the sink, the rebuild nor a
Redis client.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import NamedTuple, Self

from pipelines.profiles.profile import Profile

__all__ = [
    "Coview",
    "Profile",
    "ProfileStore",
    "ProfileStoreError",
    "ProfileStoreUnavailable",
]


class ProfileStoreError(RuntimeError):
    """A read failed for a reason other than the store being away: a stored value that does
    not decode, or a command the store refused. The cause is chained."""


class ProfileStoreUnavailable(ProfileStoreError):
    """The store did not answer in time: down, unreachable, paused, busy, loading, or every
    pooled connection in use. Transient; a caller that serves requests answers without
    profiles (geography and popularity) rather than failing."""


class Coview(NamedTuple):
    """A product viewed near another by the same visitor, and how many times it was."""

    sku: str
    times: int


class ProfileStore(ABC):
    """Reads profiles and co-views; never writes.

    Contract for every implementation:

    - Each method either returns a complete answer or raises ``ProfileStoreUnavailable``
      (the store is away or slow) or ``ProfileStoreError`` (anything else); no other
      exception escapes for a store failure. Arguments that could never name a key (a site id
      outside ``[A-Za-z0-9_-]{1,64}``, a negative limit) raise ``ValueError`` before any I/O.
    - A call blocks at most for the time the implementation documents (``RedisProfileStore``:
      a few milliseconds by default), and never retries on its own: whether to try again is
      the caller's choice.
    - An unknown visitor is not an error: it reads as the empty ``Profile()``.
    - A visitor whose profile was merged (an identify, a cross-domain link) reads as the
      profile its data went to, as the pipeline wrote it (docs/profiles.md).
    - Batch methods cost what one call costs (one round trip) and answer every id asked for.
    - Instances are safe to share between threads.
    """

    @abstractmethod
    def get(self, site_id: str, visitor_id: str) -> Profile:
        """The visitor's profile, following identity merges; ``Profile()`` if unknown."""

    @abstractmethod
    def get_user(self, site_id: str, user_id: str) -> Profile:
        """An identified user's profile (all their visitors' data, merged by ``identify``);
        ``Profile()`` if unknown. For decisions without a visitor (e-mail, push)."""

    @abstractmethod
    def get_many(self, site_id: str, visitor_ids: Iterable[str]) -> dict[str, Profile]:
        """``get`` for several visitors of one site at once: every id asked for is a key."""

    @abstractmethod
    def coviews(self, site_id: str, sku: str, limit: int = 10) -> list[Coview]:
        """At most ``limit`` products most often viewed near ``sku``, most times first
        (equal times in reverse code-point order of the sku); ``[]`` if none."""

    @abstractmethod
    def coviews_many(
        self, site_id: str, skus: Iterable[str], limit: int = 10
    ) -> dict[str, list[Coview]]:
        """``coviews`` for several products of one site at once: every sku asked for is a key."""

    def get_with_coviews(
        self, site_id: str, visitor_id: str = "", *, user_id: str = "", recent: int, limit: int
    ) -> tuple[Profile, dict[str, Sequence[tuple[str, int]]]]:
        """A profile (the user's if ``user_id`` is given, else the visitor's) and the co-views
        (``limit`` each, as ``coviews`` orders them; each a ``(sku, times)`` tuple, which a
        ``Coview`` is) of its ``recent`` most recent products: what a decision reads. Here
        two calls; an implementation may answer in one round trip (``RedisProfileStore``)."""
        profile = self.get_user(site_id, user_id) if user_id else self.get(site_id, visitor_id)
        skus = [sku for sku, _ in profile.recent_products[:recent]]
        found: dict[str, Sequence[tuple[str, int]]] = {}
        if skus:
            found.update(self.coviews_many(site_id, skus, limit))
        return profile, found

    def close(self) -> None:  # noqa: B027 - optional: a store without resources has nothing to do
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
