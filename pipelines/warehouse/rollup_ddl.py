"""The DDL every rollup table shares: plain MergeTree by month of its site-local day (a day's
rows are replaced by generation, never read with FINAL), low-cardinality strings on chdb."""

from __future__ import annotations

from collections.abc import Collection

from pipelines.warehouse.sql import quote_identifier


def create_rollup_table(
    flavor: str,
    database: str,
    table: str,
    columns: dict[str, str],
    key: tuple[str, ...],
    low_cardinality: Collection[str] = (),
) -> str:
    body = []
    for name, kind in columns.items():
        if flavor == "chdb" and kind == "String" and name in low_cardinality:
            kind = f"LowCardinality({kind})"
        body.append(f"    {name} {kind}")
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(database)}.{table} (\n"
        + ",\n".join(body)
        + f"\n) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY ({', '.join(key)})"
    )
