"""JSON from outside the process: strict, and bounded in nesting depth.

Every decoder of bytes a client, the event log or a file may hand us goes through ``loads``.
Why a depth bound: the standard library's decoder and encoder recurse once per level and raise
``RecursionError`` around 1,000 levels (a few kilobytes of ``[``), and older orjson releases
crash the process on deep input. A body nested deeper than ``MAX_DEPTH`` is not data any
sender of ours produces; it is refused with a clear ``JsonError`` before anything walks it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Objects and arrays inside one another, the outermost counting as 1. An envelope uses 4
# (envelope, events, event, context); the rest is for what a site puts in ``context``.
MAX_DEPTH = 64


class JsonError(ValueError):
    """Not JSON we accept: syntax, ``NaN``/``Infinity``, invalid UTF-8, or too deep."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Decode strict JSON (no ``NaN`` or ``Infinity``) nested at most ``max_depth`` deep.

    orjson first (C speed; refuses more than 1,024 levels itself); what it refuses but JSON
    allows (escaped lone surrogates, which JavaScript's ``JSON.stringify`` produces for a
    string cut inside a surrogate pair) goes to the standard library. Raises ``JsonError``."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = _standard_loads(data, max_depth)
    if _deeper_than(value, max_depth):
        raise JsonError(_too_deep(max_depth))
    return value


def _standard_loads(data: bytes | str, max_depth: int) -> Any:
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise JsonError(_too_deep(max_depth)) from None
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise JsonError(str(exc)) from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(max_depth: int) -> str:
    return f"nested deeper than {max_depth} levels of objects and arrays"


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Iterative, so it cannot itself run out of stack; scalars are never pushed."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            return True
        children = container.values() if isinstance(container, dict) else container
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False
