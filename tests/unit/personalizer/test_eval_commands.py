"""``clicktrail eval offers`` on a file of views, and the pure parts of ``offers export``."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from clicktrail.cli import cli
from personalizer.catalog import Catalog, Product
from personalizer.export_commands import csv_rows, read_user_ids
from personalizer.offers import Offer

DAY = 86_400_000
MINUTE = 60_000
T = 1_736_035_200_000  # 2025-01-05 00:00 UTC


def views_file(tmp_path, extra: list[str] = ()):  # noqa: ANN201
    """The small evaluation of test_evaluate.py, as a file: day 1 is the past, day 2 held
    out."""
    lines = []

    def add(visitor: str, sku: str, category: str, at: int) -> None:
        lines.append(json.dumps({"visitor": visitor, "sku": sku, "category": category, "time": at}))

    for i in range(6):
        add(f"p{i}", "s1", "Shoes", T + i * MINUTE)
    for i in range(5):
        add(f"p{i}", "s2", "Shoes", T + (10 + i) * MINUTE)
    for i in range(3):
        add(f"q{i}", "b1", "Books", T + (20 + i) * MINUTE)
    for i in range(2):
        add(f"q{i}", "b2", "Books", T + (30 + i) * MINUTE)
    add("q0", "b3", "Books", T + 40 * MINUTE)
    add("v", "b1", "Books", T + 50 * MINUTE)
    add("v", "b3", "Books", T + DAY + 200 * MINUTE)
    add("v", "b2", "Books", T + DAY + 201 * MINUTE)
    add("n", "s1", "Shoes", T + DAY + 300 * MINUTE)
    path = tmp_path / "views.jsonl"
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, ["eval", "offers", *args])


def test_the_figures_as_json(tmp_path):
    result = run("--views", str(views_file(tmp_path)), "--k", "3", "--per-category", "3", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["split"] == "2025-01-06T00:00:00+00:00"  # the last UTC day is held out
    assert document["views"] == 21 and document["bad_lines"] == 0
    figures = document["figures"]
    assert figures["HR@3"] == 1.0 and figures["HR@3 popularity"] == 1 / 3
    assert figures["HR@3 ratio to popularity"] == 3.0
    assert figures["held-out views scored"] == 3
    assert document["hits_by_reason"] == {"category_affinity": 2, "fallback": 1}


def test_a_split_of_ones_own_and_the_text_table(tmp_path):
    result = run("--views", str(views_file(tmp_path)), "--k", "3", "--split", "2025-01-06T00:00")
    assert result.exit_code == 0, result.output
    assert "21 views (0 bad lines), split at 2025-01-06T00:00:00+00:00" in result.stdout
    rows = result.stdout.splitlines()[1:-1]
    table = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in rows)
    assert table["HR@3 ratio to popularity"] == "2.0000"  # the default cap: 2 books of 3
    assert table["held-out views scored"] == "3"
    assert table["HR@3 ratio to popularity, returning visitors"] == "no baseline hit"


def test_bad_lines_are_named_and_the_good_ones_evaluated(tmp_path):
    path = views_file(tmp_path, extra=["{broken", '{"visitor": "x", "sku": "y"}'])
    result = run("--views", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert f"{path}: line 22: not JSON" in result.stderr
    assert f"{path}: line 23: category: missing" in result.stderr
    assert json.loads(result.stdout)["bad_lines"] == 2


def test_nothing_to_learn_from_or_to_score_is_a_clear_error(tmp_path):
    path = views_file(tmp_path)
    early = run("--views", str(path), "--split", "2025-01-01")
    assert early.exit_code == 1
    assert "no view before the split (2025-01-01T00:00:00+00:00)" in early.output
    late = run("--views", str(path), "--split", "2025-02-01")
    assert late.exit_code == 1 and "no product view from the split" in late.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{nope\n")
    assert "no usable view" in run("--views", str(empty)).output
    assert "an ISO 8601 date-time" in run("--views", str(path), "--split", "soon").output


def test_user_ids_and_csv_rows():
    users = read_user_ids(["u1", " u2 ", "", "u1", "a\x07b", "x" * 300])
    assert users.ids == ["u1", "u2"]
    assert [problem.split(":")[0] for problem in users.bad] == ["line 5", "line 6"]
    catalog = Catalog(
        [Product(sku="A", title="Alpha", url="https://s.example.test/a", price=5, currency="EUR")]
    )
    rows = list(
        csv_rows("u1", [Offer("A", "fallback", 1.0), Offer("gone", "fallback", 0.5)], catalog)
    )
    assert rows == [
        ["u1", "1", "A", "Alpha", "https://s.example.test/a", "", "5", "EUR", "fallback"]
    ]
