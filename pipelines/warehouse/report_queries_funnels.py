"""The funnels report's named reads over ``rollup_funnel_events`` (and the days not built yet,
from raw events with the same SQL): one ``SourcedQuery`` per shape of funnel (its number of
steps, 2 to ``MAX_STEPS``, and which condition each step has), made once on first use; a
request binds its steps as values.

Step ``i`` is ``s<i>_type`` (an event type) and an optional condition on a field
(``category``, ``sku`` or ``path``) = ``s<i>_value``. Per visitor (and breakdown group,
``by_country``/``by_device_type``), ``t<i>`` are the sorted times of the events matching step
``i`` in the period. From every time of step 1 as a start, each next step takes the earliest
matching event strictly after the previous one and at most ``within_ms`` after the start (the
earliest is always the best choice for the steps after it); ``reached`` is the deepest step
any start gets to. Counting visitors by ``reached >= i`` gives each step's visitors; step 1's
are the entrants, exact distinct visitors.

Each step is taken for every live chain at once by one sort, not a search per chain: the
chains' times and the step's times are merged into one sorted array and a running sum along
it gives each chain the step's first time after its own (``_merged``, ``_next``). A search per
chain (``arrayFirst`` over the step's times handed to each chain: 18.16's lambdas cannot read
a column of the query from inside another lambda) cost the 18.16 server a quarter more CPU
over 10 million events.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.report_queries import _FILTERS, SourcedQuery, _source
from pipelines.warehouse.rollups_funnels import FUNNEL_COLUMNS, RAW_FUNNEL_SQL

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


def _merged(chains: str, times: str) -> str:
    """The chains' times and the next step's times in one array, sorted, reversed: entries
    ``(code, step, start)``. A time ``t`` of the step is ``(2t, its value less the next larger
    one's, 0)``, so that summing ``step`` along the reversed array gives, at each entry, the
    step's first time at or after it; a chain at ``t`` is ``(2t + 1, 0, start)``, after a step
    time equal to its own (the next step must come strictly later)."""
    descending = f"arrayReverse({times})"
    steps = (
        "arrayPopFront(arrayDifference(arrayConcat([toInt64(0)],"
        f" arrayMap(x -> toInt64(x), {descending}))))"
    )
    return (
        "arrayReverse(arraySort(arrayConcat("
        f"arrayMap((x, d) -> (x * 2, d, toUInt64(0)), {descending}, {steps}),"
        f" arrayMap(e -> (e.1 * 2 + 1, toInt64(0), e.2), {chains}))))"
    )


def _next(merged: str) -> str:
    """Each chain's next step: the first time strictly after its own, kept while it is at
    most ``within_ms`` after the chain's start (a later one would be later still)."""
    return (
        "arrayMap(p -> (p.1, p.2), arrayFilter(p -> modulo(p.3, 2) = 1 AND p.1 > 0"
        " AND p.1 <= p.2 + %(within_ms)s, arrayMap((n, e) -> (toUInt64(n), e.3, e.1),"
        f" arrayCumSum(arrayMap(e -> e.2, {merged})), {merged})))"
    )


def _funnel_sql(fields: tuple[str, ...]) -> str:
    steps = len(fields)
    groups = ", ".join(f"if(%(by_{d})s = 1, {d}, '') AS g_{d}" for d in FUNNEL_BREAKDOWNS)
    group = ", ".join(f"g_{d}" for d in FUNNEL_BREAKDOWNS)
    times = ", ".join(
        f"arraySort(groupArrayArray(if({_matches(i, field)}, times, emptyArrayUInt64()))) AS t{i}"
        for i, field in enumerate(fields, 1)
    )
    # The chains alive after step i: (time of step i, start) pairs, from every time of step 1.
    chain = ["arrayMap(x -> (x, x), t1) AS c1"]
    for i in range(2, steps + 1):
        chain += [f"{_merged(f'c{i - 1}', f't{i}')} AS m{i}", f"{_next(f'm{i}')} AS c{i}"]
    reached = " + ".join(
        ["(length(t1) > 0)"] + [f"(length(c{i}) > 0)" for i in range(2, steps + 1)]
    )
    counts = ", ".join(f"countIf(reached >= {i}) AS step{i}" for i in range(1, steps + 1))
    return (
        f"SELECT {group}, {counts} FROM ("
        f"SELECT {group}, {', '.join(chain)}, {reached} AS reached FROM ("
        f"SELECT visitor_id, {groups}, {times} FROM SOURCE WHERE {_PERIOD} AND {_FILTERS}"
        " AND has(%(step_types)s, event_type)"
        f" GROUP BY visitor_id, {group})) WHERE reached > 0"
        f" GROUP BY {group} ORDER BY step1 DESC, {group} LIMIT %(limit)s"
    )


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
        "site_id": str,
        "start": date,
        "end": date,
        "country": str,
        "device": str,
        "bots": int,
        "within_ms": int,
        "limit": int,
        "step_types": list,  # the steps' event types: other rows are left out at once
        **{f"by_{d}": int for d in FUNNEL_BREAKDOWNS},
    }
    for i, field in enumerate(fields, 1):
        params[f"s{i}_type"] = str
        if field:
            params[f"s{i}_value"] = str
    raw = {"tz": str, "start_ms": int, "end_ms": int, "rolled": list, "utc_days": tuple}
    sql = _funnel_sql(fields)
    table = "rollup_funnel_events"
    name = "report_funnel_" + "_".join(field or "type" for field in fields)
    return SourcedQuery(
        NamedQuery(
            name,
            sql.replace("SOURCE", _source(table, FUNNEL_COLUMNS, RAW_FUNNEL_SQL, False)),
            params,
        ),
        NamedQuery(
            f"{name}_with_raw",
            sql.replace("SOURCE", _source(table, FUNNEL_COLUMNS, RAW_FUNNEL_SQL, True)),
            {**params, **raw},
        ),
    )
