"""The person in ClickHouse: finding their ids, their site-local days, exporting and deleting
their rows, on both engines.

How each engine deletes (measured, ``tests/integration/test_privacy_erasure.py`` keeps it):

- the 18.16 server has only ``ALTER TABLE ... DELETE`` (no lightweight ``DELETE FROM``, no
  ``mutations_sync``): a mutation, asynchronous; the eraser waits until ``system.mutations``
  says every mutation of the table is done, so the receipt is written only once the rows are
  gone from disk;
- chdb accepts ``DELETE FROM`` too, but that only masks rows until a merge; the eraser uses
  ``ALTER TABLE ... DELETE ... SETTINGS mutations_sync = 1``, which rewrites the parts before
  it returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any

from clicktrail.privacy.person import Link, Person, Subject, expand, start
from pipelines.warehouse.base import Warehouse, WarehouseUnavailable
from pipelines.warehouse.columns import EVENT_COLUMN_NAMES
from pipelines.warehouse.sql import quote_identifier

# Never an id (ids have no control characters): keeps ``IN`` lists non-empty on 18.16.
_NONE = "\x00"
MUTATION_TIMEOUT = 300.0


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(values)) or (_NONE,)


class PersonWarehouse:
    """One site's person in one warehouse (``Warehouse``: the worker's, a tool's, or a
    reader's through the chdb owner, whose ``execute`` runs on the owner's ingest session)."""

    def __init__(self, warehouse: Warehouse, sleep: Any = time.sleep) -> None:
        self.warehouse = warehouse
        self._db = quote_identifier(warehouse.database)
        self._sleep = sleep

    # --- who ----------------------------------------------------------------------------

    def resolve(self, subject: Subject, max_rounds: int = 50) -> Person:
        """Follow the links until no id is added (``clicktrail.privacy.person``'s rules):
        ``identity_links``, events that carry a user id or replaced a visitor id, and the
        visitor and user id pairs of the rollups (``rollup_visitor_days``, ``rollup_segments``):
        they outlive the raw events' retention, so a device whose link has expired is still
        reached through them. Scans the site's events once per round: erasure is rare, and
        user ids are not in the sort key."""
        person = start(subject)
        links: set[Link] = set()
        paired = self.user_pair_tables()
        for _ in range(max_rounds):
            links |= self._links(subject.site_id, person.visitor_ids, person.user_ids)
            links |= self._rollup_links(subject.site_id, person, paired)
            grown = expand(start(subject), links)
            if grown == person:
                return person
            person = grown
        return person

    def _links(self, site_id: str, visitors: Iterable[str], users: Iterable[str]) -> set[Link]:
        params = {"site": site_id, "v": _ids(visitors), "u": _ids(users)}
        db = self._db
        found: set[Link] = set()
        for visitor, kind, linked in self.warehouse.query(
            f"SELECT DISTINCT visitor_id, link_kind, linked_id FROM {db}.identity_links"
            " WHERE site_id = %(site)s AND (visitor_id IN %(v)s"
            " OR (link_kind = 'visitor' AND linked_id IN %(v)s)"
            " OR (link_kind = 'user' AND linked_id IN %(u)s))",
            params,
        ).rows:
            if kind in ("user", "visitor"):
                found.add(Link(visitor, kind, linked))
        for visitor, user, replaced in self.warehouse.query(
            f"SELECT DISTINCT visitor_id, user_id, replaced_visitor_id FROM {db}.events"
            " WHERE site_id = %(site)s AND (visitor_id IN %(v)s OR user_id IN %(u)s"
            " OR replaced_visitor_id IN %(v)s)"
            " AND (user_id != '' OR replaced_visitor_id != '')",
            params,
        ).rows:
            if user:
                found.add(Link(visitor, "user", user))
            if replaced and replaced != visitor:
                found.add(Link(visitor, "visitor", replaced))
        return found

    def user_pair_tables(self) -> list[str]:
        """The rollup tables that pair a visitor id with a user id (every generation)."""
        return [
            table
            for table, columns in self.person_tables().items()
            if table.startswith("rollup_") and {"visitor_id", "user_id"} <= columns
        ]

    def _rollup_links(self, site_id: str, person: Person, tables: Iterable[str]) -> set[Link]:
        """Visitor to user links the rollups remember. A rollup keeps one user id per visitor
        and day (the latest that day): a shared device's logins of one day are the last one."""
        params = {"site": site_id, "v": _ids(person.visitor_ids), "u": _ids(person.user_ids)}
        found: set[Link] = set()
        for table in tables:
            for visitor, user in self.warehouse.query(
                f"SELECT DISTINCT visitor_id, user_id FROM {self._db}.{quote_identifier(table)}"
                " WHERE site_id = %(site)s AND user_id != ''"
                " AND (visitor_id IN %(v)s OR user_id IN %(u)s)",
                params,
            ).rows:
                found.add(Link(visitor, "user", user))
        return found

    # --- what ---------------------------------------------------------------------------

    def _where(self, person: Person) -> tuple[str, dict[str, Any]]:
        return (
            "site_id = %(site)s AND (visitor_id IN %(v)s OR user_id IN %(u)s)",
            {"site": person.site_id, "v": _ids(person.visitor_ids), "u": _ids(person.user_ids)},
        )

    def _links_where(self, person: Person) -> tuple[str, dict[str, Any]]:
        return (
            "site_id = %(site)s AND (visitor_id IN %(v)s"
            " OR (link_kind = 'visitor' AND linked_id IN %(v)s)"
            " OR (link_kind = 'user' AND linked_id IN %(u)s))",
            {"site": person.site_id, "v": _ids(person.visitor_ids), "u": _ids(person.user_ids)},
        )

    def person_tables(self) -> dict[str, frozenset[str]]:
        """Every table of the database that holds a person's ids, with its id columns: those
        with ``site_id`` and ``visitor_id`` or ``user_id`` (``events``, every ``rollup_*``
        table, a new one as soon as it exists), and ``identity_links``."""
        found: dict[str, set[str]] = {}
        for table, name in self.warehouse.query(
            "SELECT table, name FROM system.columns WHERE database = %(db)s"
            " AND name IN ('site_id', 'visitor_id', 'user_id', 'linked_id')",
            {"db": self.warehouse.database},
        ).rows:
            found.setdefault(table, set()).add(name)
        return {
            table: frozenset(columns - {"site_id"})
            for table, columns in sorted(found.items())
            if "site_id" in columns and columns & {"visitor_id", "user_id"}
        }

    def where_of(
        self, table: str, person: Person, columns: frozenset[str] = frozenset({"visitor_id"})
    ) -> tuple[str, dict[str, Any]]:
        """The person's rows of ``table`` (whose id columns are ``columns``)."""
        if table == "events":
            return self._where(person)
        if table == "identity_links":
            return self._links_where(person)
        tests = []
        if "visitor_id" in columns:
            tests.append("visitor_id IN %(v)s")
        if "user_id" in columns:
            tests.append("user_id IN %(u)s")
        params = {"site": person.site_id, "v": _ids(person.visitor_ids), "u": _ids(person.user_ids)}
        return f"site_id = %(site)s AND ({' OR '.join(tests) or '0'})", params

    def count(
        self, table: str, person: Person, columns: frozenset[str] = frozenset({"visitor_id"})
    ) -> int:
        """Stored rows (replays not yet merged included: each is a copy on disk)."""
        where, params = self.where_of(table, person, columns)
        return int(
            self.warehouse.query(
                f"SELECT count() FROM {self._db}.{quote_identifier(table)} WHERE {where}", params
            ).scalar()
            or 0
        )

    def local_days(self, person: Person, zone: str) -> list[date]:
        """The site-local days of the person's events (their ``derived_ms`` in ``zone``)."""
        where, params = self._where(person)
        rows = self.warehouse.query(
            f"SELECT DISTINCT toDate(derived_time, %(tz)s) AS local_day FROM {self._db}.events"
            f" WHERE {where} ORDER BY local_day",
            {**params, "tz": zone},
        ).rows
        return [row[0] for row in rows]

    def product_views(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        """Each visitor id's rows the profile sink pairs co-views from, in log order (as
        ``clicktrail profiles rebuild`` orders them), deduplicated as the warehouse counts."""
        where, params = self._where(person)
        names = (
            *("visitor_id", "event_id", "created_ms", "received_ms", "event_type", "sku"),
            *("id_source", "consent", "is_bot", "user_id", "replaced_visitor_id"),
        )
        rows = self.warehouse.query(
            f"SELECT {', '.join(names)} FROM {self._db}.events FINAL WHERE {where}"
            " ORDER BY received_ms, created_ms, event_id",
            params,
        ).dicts()
        by_visitor: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_visitor.setdefault(row["visitor_id"], []).append(row)
        return by_visitor

    def export(self, person: Person) -> dict[str, Any]:
        """Every event (deduplicated) and identity link of the person, as stored, and their
        rows of every rollup table (``rollups``: by table)."""
        where, params = self._where(person)
        columns = ", ".join(EVENT_COLUMN_NAMES)
        events = self.warehouse.query(
            f"SELECT {columns} FROM {self._db}.events FINAL WHERE {where}"
            " ORDER BY created_ms, event_id",
            params,
        ).dicts()
        link_where, link_params = self._links_where(person)
        links = self.warehouse.query(
            "SELECT visitor_id, link_kind, linked_id, created_ms, event_id"
            f" FROM {self._db}.identity_links FINAL WHERE {link_where}"
            " ORDER BY created_ms, visitor_id",
            link_params,
        ).dicts()
        return {"events": events, "identity_links": links, "rollups": self.export_rollups(person)}

    def export_rollups(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        """The person's rows of every ``rollup_*`` table with a visitor or user id (sessions,
        interests, products, orders, campaigns, funnel times, visitor days with their user id,
        RFM segments), every column as stored, of each day's latest generation in that table
        (an older one is a copy on its way out, the builds' deletes are asynchronous)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for table, columns in self.person_tables().items():
            if not table.startswith("rollup_"):
                continue
            where, params = self.where_of(table, person, columns)
            name = f"{self._db}.{quote_identifier(table)}"
            out[table] = self.warehouse.query(
                f"SELECT * FROM {name} WHERE {where} AND (day, generation) IN"
                f" (SELECT day, max(generation) FROM {name} WHERE site_id = %(site)s"
                " GROUP BY day) ORDER BY day",
                params,
            ).dicts()
        return out

    # --- deleting -----------------------------------------------------------------------

    def delete(self, table: str, where: str, params: dict[str, Any], wait: bool = True) -> None:
        """Delete rows (each engine's mechanism: module doc); ``wait``: return only once they
        are gone from disk. Without it the mutation runs in the background on either engine
        (the pipeline's retention step must not hold chdb's ingest session)."""
        statement = f"ALTER TABLE {self._db}.{quote_identifier(table)} DELETE WHERE {where}"
        if self.warehouse.flavor == "chdb" and wait:
            self.warehouse.execute(statement + " SETTINGS mutations_sync = 1", params)
            return
        self.warehouse.execute(statement, params)
        if wait:
            self.wait_for_mutations(table)

    def delete_person(
        self, table: str, person: Person, columns: frozenset[str] = frozenset({"visitor_id"})
    ) -> None:
        where, params = self.where_of(table, person, columns)
        self.delete(table, where, params)

    def wait_for_mutations(self, table: str, timeout: float = MUTATION_TIMEOUT) -> None:
        """Until no mutation of ``table`` is pending (the server's; chdb's are synchronous)."""
        if self.warehouse.flavor == "chdb":
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            pending = self.warehouse.query(
                "SELECT count() FROM system.mutations WHERE database = %(db)s"
                " AND table = %(table)s AND is_done = 0",
                {"db": self.warehouse.database, "table": table},
            ).scalar()
            if not pending:
                return
            if time.monotonic() > deadline:
                raise WarehouseUnavailable(
                    f"{table}: {pending} mutation(s) still running after {timeout:.0f} s"
                )
            self._sleep(delay)
            delay = min(delay * 2, 1.0)
