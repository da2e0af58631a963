"""JSON from outside the process: strict, and bounded in nesting depth.

Every decoder of bytes a client, the event log or a file may hand us goes through ``loads``.
Why a depth bound: the standard library's decoder and encoder recurse once per level and raise
``RecursionError`` around 1,000 levels (a few kilobytes of ``[``), and older orjson releases
crash the process on deep input. A body nested deeper than ``MAX_DEPTH`` is not data any
sender of ours produces; it is refused with a clear ``JsonError`` before anything walks it.
"""

from __future__ import annotations

import itertools
import json
import re
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
    if _deeper_than(data, max_depth):
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


_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # a backslash and what it escapes
_STRING = re.compile(rb'"[^"]*"')
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _deeper_than(text: bytes | str, max_depth: int) -> bool:
    """Of JSON text that parsed: is it nested deeper than ``max_depth``? Counting brackets
    first (C speed): fewer opening brackets than the limit cannot nest deeper, which settles
    nearly every request and record. Otherwise strings are cut out (escapes first) and the
    running depth of the brackets left is measured, without recursion."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    skeleton = _STRING.sub(b"", _ESCAPE.sub(b"", data))
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    steps = (_DEPTH_STEP[byte] for byte in brackets)
    return max(itertools.accumulate(steps), default=0) > max_depth


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
