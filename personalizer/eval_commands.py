"""``clicktrail eval offers``: the offer evaluation of ``make bench-quality`` on product views
from outside the simulator (a JSON-lines file, ``personalizer.view_lines``)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import click

from personalizer.evaluate import evaluate
from personalizer.view_lines import parse_view_lines
from pipelines.profiles.config import DAY_MS

SHOWN_BAD_LINES = 20


def _parse_split(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"an ISO 8601 date-time, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return round(moment.timestamp() * 1000)


@click.group("eval")
def eval_group() -> None:
    """Measure the engine's quality offline."""


@eval_group.command("offers")
@click.option(
    "--views",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON lines of {visitor, sku, category, time[, type]}.",
)
@click.option(
    "--split",
    callback=_parse_split,
    help="Views from this ISO date-time on are held out (UTC without an offset) "
    "[default: the start of the last --held-out-days UTC days].",
)
@click.option(
    "--held-out-days",
    type=click.IntRange(1, 365),
    default=1,
    show_default=True,
    help="The last days of views held out as what the offers must predict.",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="How many offers count (hit rate and NDCG at k).",
)
@click.option(
    "--per-category",
    type=click.IntRange(1, 100),
    help="Most offers of one top category [default: the decision endpoint's, 40 % of k].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def offers(
    path: Path,
    split: int | None,
    held_out_days: int,
    k: int,
    per_category: int | None,
    as_json: bool,
) -> None:
    """Hit rate@k and NDCG@k of the offers against the most popular products, on the
    sessions after a time split (docs/personalizer.md, "Offer quality")."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        parsed = parse_view_lines(lines)
    for bad in parsed.bad[:SHOWN_BAD_LINES]:
        click.echo(f"{path}: {bad}", err=True)
    if len(parsed.bad) > SHOWN_BAD_LINES:
        click.echo(f"{path}: {len(parsed.bad) - SHOWN_BAD_LINES} more bad lines", err=True)
    views = parsed.views
    if not views:
        raise click.ClickException(f"{path}: no usable view")
    if split is None:
        last_day = max(view.time_ms for view in views) // DAY_MS * DAY_MS
        split = last_day - (held_out_days - 1) * DAY_MS
    when = dt.datetime.fromtimestamp(split / 1000, dt.UTC).isoformat()
    if not any(view.time_ms < split for view in views):
        raise click.ClickException(f"no view before the split ({when}): nothing to learn from")
    result = evaluate(views, split, k=k, per_category=per_category)
    if not result.offers.cases:
        raise click.ClickException(f"no product view from the split ({when}) on: nothing to score")
    figures = result.figures()
    if as_json:
        document = {
            "split": when,
            "k": k,
            "views": len(views),
            "bad_lines": len(parsed.bad),
            # JSON has no infinity: a baseline that never hit has no ratio
            "figures": {n: (None if math.isinf(v) else v) for n, v in figures.items()},
            "hits_by_reason": dict(result.reasons.most_common()),
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"{len(views)} views ({len(parsed.bad)} bad lines), split at {when}")
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        if math.isinf(value):
            shown = "no baseline hit"
        elif isinstance(value, int):  # a count
            shown = f"{value:,.0f}"
        else:
            shown = f"{value:.4f}"
        click.echo(f"  {name:<{width}}  {shown}")
    reasons = ", ".join(f"{r} {n}" for r, n in result.reasons.most_common()) or "none"
    click.echo(f"  hits by reason: {reasons}")
