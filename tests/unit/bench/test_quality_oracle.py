"""The reference ranking of ``make bench-quality`` (``bench.quality.persona_oracle``)."""

from __future__ import annotations

from bench.quality import persona_oracle
from personalizer.evaluate import View

MINUTE = 60_000
SPLIT = 1_000 * MINUTE


def past_views() -> list[View]:
    """Before the split: in each category, product 1 is the most viewed, then 2, then 3."""
    views = []
    for top in ("Shoes", "Books", "Toys"):
        for product, times in ((1, 6), (2, 3), (3, 1)):
            for n in range(times):
                views.append(View(f"o{top}{product}{n}", f"{top}{product}", top, n * MINUTE))
    return views


def test_told_the_persona_it_offers_the_personas_categories_first():
    held_out = [
        View("fan", "Books2", "Books", SPLIT),
        View("fan", "Books1", "Books", SPLIT + MINUTE),  # on Books2's page
        View("fan", "Books3", "Books", SPLIT + 2 * MINUTE),  # on Books1's page
    ]
    views = past_views() + held_out
    # three views scored, a strip of 2: the persona's best books not on the page, every time
    assert persona_oracle(views, SPLIT, {"fan": {"Books": 1.0}}, k=2) == 1.0
    # told a wrong persona: the two best toys at the start (a miss), then the page's category's
    # best beside the best toy: Books1 on Books2's page (a hit), Books2 on Books1's (a miss)
    assert persona_oracle(views, SPLIT, {"fan": {"Toys": 1.0}}, k=2) == 1 / 3


def test_a_visitor_without_a_persona_gets_the_most_popular():
    views = past_views() + [View("bot", "Toys1", "Toys", SPLIT)]
    # the most popular products overall, ties by sku: Books1 Shoes1 Toys1 ...
    assert persona_oracle(views, SPLIT, {}, k=2) == 0.0
    assert persona_oracle(views, SPLIT, {}, k=3) == 1.0
