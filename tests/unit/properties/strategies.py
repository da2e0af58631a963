"""Hypothesis strategies the property tests share: JSON values, and the contract's valid
events."""

from __future__ import annotations

import string
import uuid
from typing import Any

from hypothesis import strategies as st

from clicktrail.contract.event import EARLIEST_MS, LATEST_MS

# Any text, lone surrogates included (JSON carries them escaped: ``"\\ud800"``, what
# JavaScript's JSON.stringify writes for a string cut inside a surrogate pair).
ANY_TEXT = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)  # beyond 64 bits and floats
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | ANY_TEXT
)


def json_values(keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON document (as Python values), keys from ``keys``."""
    return st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12) if keys is None else keys, children, max_size=4)
        ),
        max_leaves=16,
    )


# Printable text the contract accepts in a text field (no C0 controls but tab/LF/CR, no DEL;
# no lone surrogates, which JSON cannot carry as UTF-8).
TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127])),
    ),
    max_size=40,
)
NONEMPTY = TEXT.filter(bool)
ID_CHARACTERS = string.ascii_letters + string.digits + "_-"
IDS = st.text(ID_CHARACTERS, min_size=1, max_size=64)
MS = st.integers(min_value=EARLIEST_MS, max_value=LATEST_MS - 1)
MONEY = st.integers(min_value=0, max_value=10**13)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of a common type, with some optional fields and unknown ones."""
    kind = draw(st.sampled_from(["page_view", "product_view", "add_to_cart", "purchase", "custom"]))
    event: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
        "event_type": kind,
        "created_at": draw(MS),
    }
    if kind == "page_view":
        event["url"] = draw(NONEMPTY)
    if kind in ("product_view", "add_to_cart"):
        event["sku"] = draw(NONEMPTY)
    if kind == "purchase":
        event["order_id"] = draw(NONEMPTY)
        event["items"] = [{"sku": draw(TEXT), "quantity": draw(st.integers(1, 100_000))}]
    if kind == "custom":
        event["name"] = draw(NONEMPTY)
    optional = {
        "visitor_id": IDS,
        "session_id": IDS,
        "session_index": st.integers(1, 10_000_000),
        "title": TEXT,
        "referrer": TEXT,
        "language": TEXT.map(lambda text: text[:35]),
        "properties": st.dictionaries(
            TEXT.filter(lambda key: 0 < len(key) <= 64),
            TEXT | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none(),
            max_size=3,
        ),
        "consent": st.sampled_from(["granted", "denied"]),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=4)):
        event[name] = draw(optional[name])
    if draw(st.booleans()):
        event["price"], event["currency"] = (
            draw(MONEY),
            draw(st.text(string.ascii_uppercase, min_size=3, max_size=3)),
        )
    if draw(st.booleans()):  # unknown fields travel in context
        event["x_" + draw(IDS)] = draw(TEXT)
    return event
