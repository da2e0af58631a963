"""Named queries: tables resolved once (database, FINAL where the engine needs it), parameters
declared and checked before anything is sent."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pipelines.warehouse import queries
from pipelines.warehouse.ddl import TABLE_ENGINES, events_table, identity_links_table
from pipelines.warehouse.named import NamedQuery, needs_final
from pipelines.warehouse.queries import DayRange
from pipelines.warehouse.rollups import DAY_DERIVED, DAY_TABLES
from pipelines.warehouse.sql import QueryError


def test_placeholders_become_the_database_table_and_final_where_needed():
    query = NamedQuery(
        "q",
        "SELECT count() FROM {events} WHERE visitor_id IN"
        " (SELECT visitor_id FROM {identity_links}) AND site_id = %(site)s",
        params={"site": str},
    )
    assert query.render("db") == (
        "SELECT count() FROM `db`.`events` FINAL WHERE visitor_id IN"
        " (SELECT visitor_id FROM `db`.`identity_links` FINAL) AND site_id = %(site)s"
    )


def test_a_plain_merge_tree_is_read_without_final():
    # FINAL on a MergeTree is an error on both engines.
    query = NamedQuery("q", "SELECT max(version) FROM {schema_migrations}")
    assert query.render("db") == "SELECT max(version) FROM `db`.`schema_migrations`"


def test_an_inexact_query_reads_without_final():
    query = NamedQuery("q", "SELECT count() FROM {events}", exact=False)
    assert query.render("db") == "SELECT count() FROM `db`.`events`"


def test_an_alias_goes_before_final():
    query = NamedQuery("q", "SELECT e.sku FROM {events AS e}")
    assert query.render("db") == "SELECT e.sku FROM `db`.`events` AS `e` FINAL"


def test_the_database_must_be_a_plain_identifier():
    with pytest.raises(QueryError):
        NamedQuery("q", "SELECT 1 FROM {events}").render("db; DROP")


@pytest.mark.parametrize(
    "sql, params, message",
    [
        ("SELECT 1 FROM {evnets}", {}, "no such table evnets"),
        ("SELECT 1 FROM db.events", {}, "placeholders"),
        ("SELECT {x:String} FROM {events}", {}, "brace"),
        ("SELECT 1 FROM {events} WHERE a % 2 = 0", {}, "literal %"),
        ("SELECT 1 FROM {events} WHERE url LIKE '%shoe%'", {}, "literal %"),
        ("SELECT 1 FROM {events} WHERE site_id = %(site)s", {}, "declared"),
        ("SELECT 1 FROM {events}", {"site": str}, "declared"),
    ],
)
def test_a_bad_declaration_fails_when_declared(sql, params, message):
    with pytest.raises(QueryError, match=message):
        NamedQuery("bad", sql, params=params)


def test_parameters_are_checked_by_name_and_type():
    query = NamedQuery(
        "q",
        "SELECT 1 FROM {events} WHERE site_id = %(site)s AND day >= %(start)s LIMIT %(n)s",
        params={"site": str, "start": date, "n": int},
    )
    query.check({"site": "shop", "start": date(2025, 1, 1), "n": 5})
    with pytest.raises(QueryError, match="missing parameters \\['n'\\]"):
        query.check({"site": "shop", "start": date(2025, 1, 1)})
    with pytest.raises(QueryError, match="unexpected \\['x'\\]"):
        query.check({"site": "shop", "start": date(2025, 1, 1), "n": 5, "x": 1})
    with pytest.raises(QueryError, match="site must be str, got int"):
        query.check({"site": 1, "start": date(2025, 1, 1), "n": 5})
    # Python's subclasses that ClickHouse sees differently
    with pytest.raises(QueryError, match="n must be int, got bool"):
        query.check({"site": "shop", "start": date(2025, 1, 1), "n": True})
    with pytest.raises(QueryError, match="start must be date, got datetime"):
        query.check({"site": "shop", "start": datetime(2025, 1, 1), "n": 5})


def test_a_parameter_may_accept_several_types():
    query = NamedQuery(
        "q", "SELECT 1 FROM {events} WHERE sku IN %(skus)s", params={"skus": (list, tuple)}
    )
    query.check({"skus": ["a"]})
    query.check({"skus": ("a",)})
    with pytest.raises(QueryError, match="skus must be list or tuple"):
        query.check({"skus": "a"})


def test_the_table_registry_matches_the_ddl():
    assert needs_final("events") and needs_final("identity_links")
    assert not needs_final("schema_migrations")
    assert "ENGINE = ReplacingMergeTree" in events_table("server", "db")
    assert "ENGINE = ReplacingMergeTree" in identity_links_table("server", "db")
    # every table a day's build fills, and the builds' own bookkeeping
    rollups = {table for table, _, _ in DAY_TABLES} | {table for table, _ in DAY_DERIVED}
    rollups |= {"rollup_days", "rollup_dirty"}
    assert {"rollup_sessions", "rollup_campaigns", "rollup_segments"} <= rollups
    assert set(TABLE_ENGINES) == {"events", "identity_links", "schema_migrations"} | rollups
    assert not any(needs_final(table) for table in rollups)  # replaced by generation


def test_the_products_queries_declare_and_render():
    for query in (queries.POPULAR_PRODUCTS, queries.DAILY_EVENTS, queries.VISITOR_TIMELINE):
        sql = query.render("clicktrail")
        assert "`clicktrail`.`events` FINAL" in sql and "{" not in sql


def test_a_day_range_of_the_last_days_includes_today():
    assert DayRange.last(7, today=date(2025, 11, 24)) == DayRange(
        date(2025, 11, 18), date(2025, 11, 25)
    )
    assert DayRange.last(1, today=date(2025, 11, 24)) == DayRange(
        date(2025, 11, 24), date(2025, 11, 25)
    )
    with pytest.raises(ValueError):
        DayRange.last(0)
