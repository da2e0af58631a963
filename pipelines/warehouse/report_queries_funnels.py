"""The funnels report's named reads: one ``SourcedQuery`` per shape of funnel, made once on
first use; a request binds its values. Two tables answer (and the days not built yet, from raw
events with the SQL that builds them):

- ``rollup_funnel_visitors`` (``fast_funnel_query``), when every step is an event type alone:
  a row per visitor-day (and country, device, bot flag) with each type's times in a column of
  its own. The shape is the steps' types (columns of the table); only those are read.
- ``rollup_funnel_events`` (``funnel_query``), when a step has a condition: step ``i`` is
  ``s<i>_type`` (an event type) and an optional condition on a field (``category``, ``sku``
  or ``path``) = ``s<i>_value``. The shape is the condition field of each step.

Per visitor (and breakdown group, ``by_country``/``by_device_type``), the sorted times of the
events matching each step in the period are gathered; ``step_levels`` then finds which steps
some start reaches: from an event of step 1, events of the next steps each strictly after the
one before, the last at most ``within_ms`` after the start. ``reached`` is the deepest step;
counting visitors by ``reached >= i`` gives each step's visitors (step 1's are the entrants,
exact distinct visitors).

Measured at 10 million events (18.16 server CPU of the bench's 4-step funnel over 30 days,
one kept database, mean of 10): chains from every start, each step found for every chain by
a sort of ``(time, step, start)`` tuples, over ``rollup_funnel_events``: 632 ms;
``step_levels`` over the same table: 532 ms; ``step_levels`` over
``rollup_funnel_visitors``: 190-200 ms.
"""

from __future__ import annotations

from functools import lru_cache

from pipelines.warehouse.report_queries import (
    _FILTERS,
    FILTER_PARAMS,
    PERIOD_PARAMS,
    SourcedQuery,
    _source,
    rolled_and_raw,
)
from pipelines.warehouse.rollups_funnels import (
    FAST_TYPES,
    FUNNEL_COLUMNS,
    FUNNEL_VISITOR_COLUMNS,
    RAW_FUNNEL_SQL,
    RAW_FUNNEL_VISITORS_SQL,
)

MAX_STEPS = 8
FUNNEL_BREAKDOWNS = ("country", "device_type")
STEP_FIELDS = ("category", "sku", "path")
_PERIOD = "day >= toDate(%(start)s) AND day < toDate(%(end)s)"


def _matches(i: int, field: str) -> str:
    condition = {
        "": "",
        "category": f" AND has(categories, %(s{i}_value)s)",
        "sku": f" AND has(skus, %(s{i}_value)s)",
        "path": f" AND path = %(s{i}_value)s",
    }[field]
    return f"event_type = %(s{i}_type)s{condition}"


def step_levels(times: list[str]) -> tuple[list[str], str]:
    """The step-by-step evaluation over ``times`` (per step, an array of sorted times): the
    expressions (``e<k>``/``l<k>``: the times of step ``k``'s events that some chain reaches,
    and for each the latest start it can have), and ``reached`` (the deepest step).

    Step 1's events are their own starts. An event of step ``k`` at ``t`` is reached when an
    event of step ``k - 1`` reached before ``t`` (strictly) has a start at most ``within_ms``
    before ``t``; the latest such start is the one to keep (the reached events' latest starts
    only grow with their times, so it is the start of the last one before ``t``). The last one
    before each ``t`` comes from one sort: the codes ``2t`` (step ``k``) and ``2t' + 1``
    (step ``k - 1``, after a ``t`` equal to its own) order the values ``1`` (step ``k``) and
    ``2 * d`` (step ``k - 1``, ``d`` its start less the one before it), so that along them
    the running sum of the halves is the latest start so far, and an odd value is a step-k
    time. Plain integer arrays, one sort a step."""
    exprs = [f"{times[0]} AS e1", f"{times[0]} AS l1"]
    for k in range(2, len(times) + 1):
        zero = "toUInt64(0)" if k == 2 else "toInt64(0)"  # l1 is the times, UInt64
        step = times[k - 1]
        codes = f"arrayConcat(arrayMap(x -> x * 2 + 1, e{k - 1}), arrayMap(x -> x * 2, {step}))"
        # 2 * (a start's difference to the one before) for step k - 1, 1 for step k
        starts = (
            f"arrayConcat(arrayMap(x -> x * 2, arrayPopFront(arrayDifference(arrayConcat([{zero}],"
            f" l{k - 1})))), arrayMap(x -> toInt64(1), {step}))"
        )
        reached = f"m{k} > 0 AND t <= m{k} + %(within_ms)s"
        exprs += [
            f"arraySort((d, c) -> c, {starts}, {codes}) AS o{k}",
            # the latest start before each step-k time, in the order of the (sorted) times
            f"arrayFilter((m, c) -> modulo(c, 2) = 1, arrayCumSum(arrayMap(c -> intDiv(c, 2),"
            f" o{k})), o{k}) AS b{k}",
            f"arrayFilter((t, m{k}) -> {reached}, {step}, b{k}) AS e{k}",
            f"arrayFilter((m{k}, t) -> {reached}, b{k}, {step}) AS l{k}",
        ]
    depth = " + ".join(f"(length(e{k}) > 0)" for k in range(1, len(times) + 1))
    return exprs, depth


def _counted(steps: int, grouped: str, times: list[str]) -> str:
    """Visitors per step and breakdown group, over ``grouped`` (a row per visitor and group
    with the arrays ``times``)."""
    group = ", ".join(f"g_{d}" for d in FUNNEL_BREAKDOWNS)
    levels, depth = step_levels(times)
    counts = ", ".join(f"countIf(reached >= {i}) AS step{i}" for i in range(1, steps + 1))
    return (
        f"SELECT {group}, {counts} FROM ("
        f"SELECT {group}, {', '.join(levels)}, {depth} AS reached FROM ({grouped}))"
        f" WHERE reached > 0 GROUP BY {group} ORDER BY step1 DESC, {group} LIMIT %(limit)s"
    )


_GROUPS = ", ".join(f"if(%(by_{d})s = 1, {d}, '') AS g_{d}" for d in FUNNEL_BREAKDOWNS)
_GROUP = ", ".join(f"g_{d}" for d in FUNNEL_BREAKDOWNS)


def _funnel_sql(fields: tuple[str, ...]) -> str:
    times = ", ".join(
        f"arraySort(groupArrayArray(if({_matches(i, field)}, times, emptyArrayUInt64()))) AS t{i}"
        for i, field in enumerate(fields, 1)
    )
    grouped = (
        f"SELECT visitor_id, {_GROUPS}, {times} FROM SOURCE WHERE {_PERIOD} AND {_FILTERS}"
        f" AND has(%(step_types)s, event_type) GROUP BY visitor_id, {_GROUP}"
    )
    return _counted(len(fields), grouped, [f"t{i}" for i in range(1, len(fields) + 1)])


def _fast_sql(types: tuple[str, ...]) -> str:
    kinds = sorted(set(types))
    times = ", ".join(f"arraySort(groupArrayArray(t_{kind})) AS a_{kind}" for kind in kinds)
    some = " OR ".join(f"notEmpty(t_{kind})" for kind in kinds)
    grouped = (
        f"SELECT visitor_id, {_GROUPS}, {times} FROM SOURCE WHERE {_PERIOD} AND {_FILTERS}"
        f" AND ({some}) GROUP BY visitor_id, {_GROUP}"
    )
    return _counted(len(types), grouped, [f"a_{kind}" for kind in types])


@lru_cache(maxsize=256)  # shapes are the askers' choice: a bounded few kept
def funnel_query(fields: tuple[str, ...]) -> SourcedQuery:
    """The read of a funnel whose step ``i`` has the condition field ``fields[i - 1]`` (one of
    ``STEP_FIELDS``, or "" for the event type alone). Each shape is its own SQL, made once:
    a condition written for every step and switched off by a value was evaluated on every
    row all the same (three array and string scans a step; a fifth of the query's time on the
    server, a third on chdb, measured at 10 M events)."""
    if not 2 <= len(fields) <= MAX_STEPS or not set(fields) <= {"", *STEP_FIELDS}:
        raise ValueError(f"no funnel of steps {fields!r}")
    params: dict[str, type] = {
        **_PARAMS,
        "step_types": list,  # the steps' event types: other rows are left out at once
    }
    for i, field in enumerate(fields, 1):
        params[f"s{i}_type"] = str
        if field:
            params[f"s{i}_value"] = str
    name = "report_funnel_" + "_".join(field or "type" for field in fields)
    return _sourced(name, _funnel_sql(fields), "rollup_funnel_events", FUNNEL_COLUMNS, params)


@lru_cache(maxsize=256)
def fast_funnel_query(types: tuple[str, ...]) -> SourcedQuery:
    """The read of a funnel whose steps are the event types ``types`` alone (each one of
    ``FAST_TYPES``), over ``rollup_funnel_visitors``: a row per visitor-day with each type's
    times already gathered, so the visitors are grouped from a few rows each, and only the
    steps' columns are read. Binds neither step types nor values."""
    if not 2 <= len(types) <= MAX_STEPS or not set(types) <= set(FAST_TYPES):
        raise ValueError(f"no fast funnel of steps {types!r}")
    table = "rollup_funnel_visitors"
    read = ("day", "visitor_id", "country", "device_type", "is_bot")
    columns = {
        name: kind
        for name, kind in FUNNEL_VISITOR_COLUMNS.items()
        if name in read or name in {f"t_{kind}" for kind in types}
    }
    name = "report_funnel_fast_" + "_".join(types)
    return _sourced(name, _fast_sql(types), table, columns, dict(_PARAMS))


_PARAMS: dict[str, type] = {
    **PERIOD_PARAMS,
    **FILTER_PARAMS,
    "within_ms": int,
    "limit": int,
    **{f"by_{d}": int for d in FUNNEL_BREAKDOWNS},
}


def _sourced(
    name: str, sql: str, table: str, columns: dict[str, str], params: dict[str, type]
) -> SourcedQuery:
    raw_sql = RAW_FUNNEL_SQL if table == "rollup_funnel_events" else RAW_FUNNEL_VISITORS_SQL
    return rolled_and_raw(
        name, lambda raw: sql.replace("SOURCE", _source(table, columns, raw_sql, raw)), params
    )
