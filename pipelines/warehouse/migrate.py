"""``clicktrail migrate``: create and upgrade the schema, idempotently, recording versions."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.ddl import EVENT_SCHEMA_OF, MIGRATIONS, migrations_table
from pipelines.warehouse.sql import quote_identifier


@dataclass(frozen=True)
class MigrationReport:
    before: int
    after: int
    applied: tuple[int, ...]


def current_version(warehouse: Warehouse) -> int:
    db = quote_identifier(warehouse.database)
    warehouse.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    warehouse.execute(migrations_table(warehouse.database))
    return int(warehouse.query(f"SELECT max(version) FROM {db}.schema_migrations").scalar() or 0)


def migrate(warehouse: Warehouse) -> MigrationReport:
    """Apply every migration newer than the recorded version. Each statement is idempotent
    (``IF NOT EXISTS``), so a migration interrupted halfway is simply run again."""
    before = current_version(warehouse)
    # By recorded version, not by the highest one: a migration numbered below one already
    # applied (two changes landing in either order) still runs.
    recorded = _recorded_versions(warehouse)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in recorded:
            continue
        for statement in migration.statements(warehouse.flavor, warehouse.database):
            warehouse.execute(statement)
        for table, columns in migration.add_columns.items():
            _add_missing_columns(warehouse, table, columns)
        if migration.then is not None:
            migration.then(warehouse)
        warehouse.insert(
            "schema_migrations",
            ("version", "event_schema", "description", "applied_ms"),
            [
                {
                    "version": migration.version,
                    "event_schema": EVENT_SCHEMA_OF[migration.version],
                    "description": migration.description,
                    "applied_ms": int(time.time() * 1000),
                }
            ],
        )
        applied.append(migration.version)
    after = max([before, *applied])
    return MigrationReport(before, after, tuple(applied))


def _recorded_versions(warehouse: Warehouse) -> set[int]:
    db = quote_identifier(warehouse.database)
    rows = warehouse.query(f"SELECT DISTINCT version FROM {db}.schema_migrations").rows
    return {int(row[0]) for row in rows}


def latest_version() -> int:
    return MIGRATIONS[-1].version


def _add_missing_columns(warehouse: Warehouse, table: str, columns: dict[str, str]) -> None:
    # ADD COLUMN IF NOT EXISTS is not in every engine version: look first.
    present = {
        name
        for (name,) in warehouse.query(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(table)s",
            {"db": warehouse.database, "table": table},
        ).rows
    }
    target = f"{quote_identifier(warehouse.database)}.{quote_identifier(table)}"
    for name, kind in columns.items():
        if name not in present:
            warehouse.execute(f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} {kind}")
