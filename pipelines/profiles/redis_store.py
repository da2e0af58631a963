"""``ProfileStore`` on the profile Redis: one round trip per call, a serving client.

A profile is read by ``read.lua``, which follows the visitor's links (``=>``, else the ``->``
chain) and returns the hash the visitor's data lives in, so a merged visitor still costs one
round trip; ``get_many`` pipelines one script call per visitor. Co-views are sorted sets read
with ``ZREVRANGE``; ``get_with_coviews`` reads a profile and the co-views of its recent products
in one script call (``read_coviews.lua``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis
from redis.exceptions import NoScriptError, ResponseError

from pipelines.profiles import clients, stored
from pipelines.profiles.profile import Profile, decode_profile
from pipelines.profiles.store import (
    Coview,
    ProfileStore,
    ProfileStoreError,
    ProfileStoreUnavailable,
)

READ_SCRIPT = (Path(__file__).parent / "read.lua").read_text()
READ_SHA = hashlib.sha1(READ_SCRIPT.encode()).hexdigest()
READ_COVIEWS_SCRIPT = (Path(__file__).parent / "read_coviews.lua").read_text()
READ_COVIEWS_SHA = hashlib.sha1(READ_COVIEWS_SCRIPT.encode()).hexdigest()

# Errors by which a Redis that is up says it cannot serve now: a long script or a replica
# without its primary. They are the same to a caller as a timeout.
_BUSY_PREFIXES = ("BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN")

T = TypeVar("T")


class RedisProfileStore(ProfileStore):
    """Reads the profiles ``ProfileSink`` writes.

    A call costs one round trip (two, once, after Redis lost its script cache: a restart or
    ``SCRIPT FLUSH``) and blocks at most as long as the client's timeouts allow; with
    ``from_url``'s client that is a pool wait and a connect of ``connect_timeout_ms`` each, plus
    ``read_timeout_ms`` per answer waited for. Failures are raised as the ``ProfileStore`` contract
    says; nothing is retried.
    """

    def __init__(self, client: redis.Redis) -> None:
        """``client`` should not retry on its own (``clients.serving_client`` does not)."""
        self.client = client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout_ms: int = clients.DEFAULT_CONNECT_TIMEOUT_MS,
        read_timeout_ms: int = clients.DEFAULT_READ_TIMEOUT_MS,
        max_connections: int = clients.DEFAULT_MAX_CONNECTIONS,
    ) -> RedisProfileStore:
        """A store with its own serving client (``clients.serving_client``)."""
        return cls(
            clients.serving_client(
                url,
                connect_timeout_ms=connect_timeout_ms,
                read_timeout_ms=read_timeout_ms,
                max_connections=max_connections,
            )
        )

    def get(self, site_id: str, visitor_id: str) -> Profile:
        return self.get_many(site_id, [visitor_id])[visitor_id]

    def get_user(self, site_id: str, user_id: str) -> Profile:
        _check_site(site_id)
        if not user_id:
            raise ValueError("a user id is needed")
        (reply,) = self._call(lambda: self._read_profiles([stored.user_key(site_id, user_id)]))
        return _decode(reply)

    def get_many(self, site_id: str, visitor_ids: Iterable[str]) -> dict[str, Profile]:
        _check_site(site_id)
        ids = list(dict.fromkeys(visitor_ids))
        if not ids:
            return {}
        keys = [stored.visitor_key(site_id, visitor_id) for visitor_id in ids]
        replies = self._call(lambda: self._read_profiles(keys))
        return {visitor_id: _decode(reply) for visitor_id, reply in zip(ids, replies, strict=True)}

    def coviews(self, site_id: str, sku: str, limit: int = 10) -> list[Coview]:
        return self.coviews_many(site_id, [sku], limit)[sku]

    def coviews_many(
        self, site_id: str, skus: Iterable[str], limit: int = 10
    ) -> dict[str, list[Coview]]:
        _check_site(site_id)
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        wanted = list(dict.fromkeys(skus))
        if not wanted or limit == 0:  # ZREVRANGE 0 -1 would answer the whole list
            return {sku: [] for sku in wanted}

        def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for sku in wanted:
                pipe.zrevrange(stored.coview_key(site_id, sku), 0, limit - 1, withscores=True)
            return list(pipe.execute())

        replies = self._call(read)
        return {
            sku: [Coview(name.decode(), int(count)) for name, count in pairs]
            for sku, pairs in zip(wanted, replies, strict=True)
        }

    def get_with_coviews(
        self, site_id: str, visitor_id: str = "", *, user_id: str = "", recent: int, limit: int
    ) -> tuple[Profile, dict[str, Sequence[tuple[str, int]]]]:
        _check_site(site_id)
        if recent < 0 or limit < 0:
            raise ValueError(f"recent and limit must not be negative, got {recent}, {limit}")
        if user_id:
            key = stored.user_key(site_id, user_id)
        elif visitor_id:
            key = stored.visitor_key(site_id, visitor_id)
        else:
            raise ValueError("a visitor id or a user id is needed")
        args = (stored.RECENT_PRODUCTS, stored.coview_key(site_id, ""), recent, limit)

        def read() -> Any:
            try:
                return direct_command(self.client, "EVALSHA", READ_COVIEWS_SHA, 1, key, *args)
            except NoScriptError:  # a restarted or flushed Redis; EVAL caches it again
                return direct_command(self.client, "EVAL", READ_COVIEWS_SCRIPT, 1, key, *args)

        reply = self._call(read)
        near = reply[2:]
        # (sku, times) tuples made by zip and map, not Coview per pair: a decision reads up to
        # a hundred of them, and a Coview is that tuple
        coviews: dict[str, Sequence[tuple[str, int]]] = {
            sku.decode(): list(
                zip(map(bytes.decode, pairs[::2]), map(int, pairs[1::2]), strict=True)
            )
            for sku, pairs in zip(near[::2], near[1::2], strict=True)
        }
        return _decode(reply), coviews

    def close(self) -> None:
        self.client.close()

    def _read_profiles(self, keys: Sequence[str]) -> list[Any]:
        replies = self._pipeline(keys, with_body=False)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:  # a restarted or flushed Redis; EVAL caches the script again
            again = self._pipeline([keys[i] for i in missing], with_body=True)
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def _pipeline(self, keys: Sequence[str], with_body: bool) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            if with_body:
                pipe.eval(READ_SCRIPT, 1, key)
            else:
                pipe.evalsha(READ_SHA, 1, key)
        return list(pipe.execute(raise_on_error=False))

    @staticmethod
    def _call(read: Callable[[], T]) -> T:
        """Run ``read``, turning redis-py's exceptions into the store's."""
        try:
            return read()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ProfileStoreUnavailable(f"profile Redis unavailable: {exc}") from exc
        except ResponseError as exc:
            if str(exc).startswith(_BUSY_PREFIXES):
                raise ProfileStoreUnavailable(f"profile Redis busy: {exc}") from exc
            raise ProfileStoreError(f"profile Redis refused a read: {exc}") from exc
        except redis.RedisError as exc:
            raise ProfileStoreError(f"profile read failed: {exc}") from exc


def direct_command(client: redis.Redis, *args: Any) -> Any:
    """One command on a connection of ``client``'s pool, without the client's command layer
    (its retry wrapper, which a serving client does not use, and its reply callbacks). Errors
    are redis-py's own, as the client's; a connection that failed is closed and given back.

    An OS thread keeps the connection it was given (``_Kept``), up to half of a pool's
    connections: the pool's checkout takes a lock and asks the socket whether unread data
    waits (a system call) on every command, and a kept connection never holds unread data
    (any error closes it and gives it back). Measured: a fifth of a decision's Redis CPU.
    Under gevent, whose greenlets come and go, every command checks a connection out."""
    pool = client.connection_pool
    kept = _kept_here()
    connection = kept.get(pool) if kept is not None else None
    if connection is None:
        connection = pool.get_connection()
        if kept is None or not kept.take(pool, connection):
            try:  # checked out for this command only
                connection.send_command(*args)
                return connection.read_response()
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)
    try:
        connection.send_command(*args)
        return connection.read_response()
    except BaseException:
        connection.disconnect()
        kept.drop(pool)  # type: ignore[union-attr] # given back once, closed
        raise


class _Kept:
    """One thread's connections, by pool; given back to their pools when the thread ends."""

    _counts: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._by_pool: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def get(self, pool: Any) -> Any:
        return self._by_pool.get(pool)

    def take(self, pool: Any, connection: Any) -> bool:
        with self._lock:
            count = self._counts.get(pool, 0)
            if count >= max(1, getattr(pool, "max_connections", 2) // 2):
                return False  # more threads than the pool serves kept: check out per command
            self._counts[pool] = count + 1
        self._by_pool[pool] = connection
        return True

    def drop(self, pool: Any) -> None:
        connection = self._by_pool.pop(pool, None)
        if connection is not None:
            with self._lock:
                self._counts[pool] = self._counts.get(pool, 1) - 1
            pool.release(connection)

    def __del__(self) -> None:
        for pool in list(self._by_pool.keys()):
            self.drop(pool)


_local = threading.local()
_green: bool | None = None


def _kept_here() -> _Kept | None:
    """This thread's kept connections; None under gevent (decided at the first command, in
    the process that serves: gunicorn patches ``threading`` before it loads the app)."""
    global _green
    if _green is None:
        monkey = sys.modules.get("gevent.monkey")
        _green = monkey is not None and bool(monkey.is_module_patched("threading"))
    if _green:
        return None
    kept: _Kept | None = getattr(_local, "kept", None)
    if kept is None or kept.pid != os.getpid():  # a forked child keeps none of its parent's
        kept = _local.kept = _Kept()
    return kept


def _decode(reply: Any) -> Profile:
    key = reply[0].decode()
    flat: list[bytes] = reply[1]
    try:
        return decode_profile(key, dict(zip(flat[::2], flat[1::2], strict=True)))
    except ValueError as exc:
        raise ProfileStoreError(f"{key} holds a value that does not decode: {exc}") from exc


def _check_site(site_id: str) -> None:
    if not stored.SITE_ID.fullmatch(site_id):
        raise ValueError(f"not a site id: {site_id!r}")
