"""Split a py-spy ``--format raw`` profile of a collector worker into the request's steps.

``python -m bench.profile_split PROFILE.txt``: each sampled stack is put in the first step
(in the order below) one of whose markers appears in it; the shares of all samples are
printed. ``make bench-collector-profile`` records such profiles under load.

Every request enters through ``Flask.__call__``, which hands it to the WSGI middleware in front
of Flask (``FastCollect``): that one frame is left out, so a request the middleware answers
counts as Flask's only where Flask or werkzeug code runs under it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# (step, markers): a stack belongs to the first step any of whose markers it contains.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decode (JSON body)", ("jsontext.py", "decode_json (")),
    ("validate (events)", ("parse_event (", "contract/event.py", "envelope.py", "eventcheck.py")),
    ("identity", ("identity/visitor.py", "identity/request.py", "identity/client_ip.py")),
    ("record build", ("build_records (", "contract/record.py")),
    ("log append: kafka-python", ("kafka/",)),
    ("log append: confluent-kafka", ("confluent_kafka", "eventlog/confluent.py")),
    ("log append: redis", ("redis/", "redis_streams.py")),
    ("metrics (prometheus)", ("prometheus_client",)),
    ("answer (JSON, headers, cookie)", ("_json (", "_allow_origin (", "_count (", "_set_visitor")),
    ("rate limiter", ("serving/ratelimit.py",)),
    ("Flask / werkzeug", ("flask/", "werkzeug/")),
    ("fast path's own lines (FastCollect, accept)", ("FastCollect.", "accept (tracker/")),
    ("gunicorn / gevent HTTP", ("gunicorn/", "gevent/")),
)
ENTRY = "Flask.__call__ (flask/"  # the app's entry, around the middleware: not Flask's work


def split(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {name: 0 for name, _ in STEPS}
    counts["other"] = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stack = ";".join(frame for frame in stack.split(";") if not frame.startswith(ENTRY))
        for name, markers in STEPS:
            if any(marker in stack for marker in markers):
                counts[name] += int(count)
                break
        else:
            counts["other"] += int(count)
    return counts


def format_split(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    lines = [f"{total} samples"]
    lines += [f"  {name:<34} {count / total:6.1%}" for name, count in counts.items() if count]
    return "\n".join(lines)


def main() -> None:
    print(format_split(split(Path(sys.argv[1]).read_text().splitlines())))


if __name__ == "__main__":
    main()
