"""The co-view pairs a person added, replayed as the profile script pairs them."""

from collections import Counter

from pipelines.privacy.coviews import pairs
from pipelines.profiles.config import ProfileConfig

MIN = 60_000


def view(sku: str, minute: int, **extra) -> dict:
    return {"event_type": "product_view", "sku": sku, "created_ms": minute * MIN, **extra}


def test_pairs_follow_the_scripts_rule():
    config = ProfileConfig(coview_neighbours=2, coview_window_ms=30 * MIN)
    rows = [view("a", 0), view("b", 1), view("c", 2), view("d", 3), view("a", 4), view("e", 60)]
    assert pairs(rows, config) == Counter(
        {
            ("b", "a"): 1,
            ("a", "b"): 1,
            ("c", "b"): 1,
            ("b", "c"): 1,
            ("c", "a"): 1,
            ("a", "c"): 1,
            ("d", "c"): 1,
            ("c", "d"): 1,
            ("d", "b"): 1,
            ("b", "d"): 1,
            # "a" again within the window pairs with nothing; "e" is an hour later: alone
        }
    )


def test_rows_profiles_leave_out_add_no_pairs():
    config = ProfileConfig()
    rows = [
        view("a", 0),
        view("b", 1, consent="denied"),
        view("c", 2, is_bot=1),
        view("d", 3, id_source="cookieless"),
        {"event_type": "page_view", "created_ms": 4},
    ]
    assert pairs(rows, config) == Counter()
