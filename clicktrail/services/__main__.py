"""``python -m clicktrail.services {install,start,stop,status,urls,memory} [service ...]``.

``status --engine`` is ``make status``: every service and app, those the settings do not use
(``clicktrail config services``) marked ``not needed``. ``memory`` prints what each running
service holds, its child processes included.

Exit codes: 0 done; 1 a service failed (the message says which and why); 2 bad usage;
3 ``status`` found a named service not up (with ``--engine``: a needed one).
"""

from __future__ import annotations

import argparse
import sys

from clicktrail import services
from clicktrail.services import memory
from clicktrail.services.errors import ServiceError
from clicktrail.settings import ConfigError, Settings, needed_services


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clicktrail.services",
        description="Install, start and stop Clicktrail's services on 127.0.0.1 (idempotent).",
        epilog=(
            "Run folder: var/run/<CLICKTRAIL_PORT_OFFSET>/ or CLICKTRAIL_SERVICES_DIR. "
            "No service names means all of them."
        ),
    )
    parser.add_argument("command", choices=("install", "start", "stop", "status", "urls", "memory"))
    parser.add_argument(
        "--kafka",
        action="store_true",
        help="urls: the event log on the Kafka broker instead of Redis Streams",
    )
    parser.add_argument(
        "--engine",
        action="store_true",
        help="status: every service and app, those the settings do not use marked 'not needed';"
        " exit 3 only when a needed one is not up (make status)",
    )
    parser.add_argument(
        "names",
        nargs="*",
        default=[],
        metavar="service",
        help=", ".join(services.SERVICE_NAMES + services.APP_NAMES)
        + " (no names: the services, not the apps)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    known = services.SERVICE_NAMES + services.APP_NAMES
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(
            f"unknown service {', '.join(unknown)}; known: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    names = args.names or None
    if args.engine and (names or args.command != "status"):
        print("--engine goes with status and no service names", file=sys.stderr)
        return 2
    try:
        if args.command == "install":
            services.install(names)
        elif args.command == "start":
            services.start(names)
        elif args.command == "stop":
            services.stop(names)
        elif args.command == "status" and args.engine:
            return _print_engine_status()
        elif args.command == "status":
            return _print_status(names)
        elif args.command == "memory":
            return _print_memory(names)
        else:
            for key, value in services.urls(kafka=args.kafka).items():
                print(f"{key}={value}")
    except ServiceError as error:
        print(f"services: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _print_status(names: list[str] | None) -> int:
    statuses = services.status(names)
    print(f"run folder: {services.run_dir()}")
    for st in statuses.values():
        print(_line(st))
    # With names, the exit code answers "are these up?"; without, status is informational.
    if names and not all(st.up for st in statuses.values()):
        return 3
    return 0


def _line(st: services.ServiceStatus, state: str | None = None, note: str = "") -> str:
    pid = str(st.pid) if st.pid is not None else "-"
    return f"{st.name:<14} {state or st.state:<10} pid={pid:<8} port={st.port}{note}"


def _print_engine_status() -> int:
    try:
        needed = set(needed_services(Settings.from_env())) | set(services.APP_NAMES)
    except ConfigError as error:
        print(f"services: error: {error}", file=sys.stderr)
        return 1
    statuses = services.status(list(services.SERVICE_NAMES + services.APP_NAMES))
    print(f"run folder: {services.run_dir()}")
    for st in statuses.values():
        if st.name in needed:
            print(_line(st))
        elif st.pid is None:
            print(_line(st, "not needed"))
        else:  # started by hand or for tests: running, but nothing of the engine uses it
            print(_line(st, note="  (not needed by the settings)"))
    down = [st.name for st in statuses.values() if st.name in needed and not st.up]
    if down:
        print(f"needed and not up: {', '.join(down)} (make up starts them)", file=sys.stderr)
        return 3
    return 0


def _print_memory(names: list[str] | None) -> int:
    if not memory.supported():
        print("memory: needs Linux's /proc", file=sys.stderr)
        return 1
    statuses = services.status(names or list(services.SERVICE_NAMES + services.APP_NAMES))
    rss = pss = count = 0
    print(f"{'service':<14} {'processes':>9} {'RSS':>10} {'PSS':>10}")
    for st in statuses.values():
        if st.pid is None:
            continue
        held = memory.measure(st.pid)
        rss, pss, count = rss + held.rss_bytes, pss + held.pss_bytes, count + held.processes
        print(
            f"{st.name:<14} {held.processes:>9} {memory.mib(held.rss_bytes):>10}"
            f" {memory.mib(held.pss_bytes):>10}"
        )
    print(f"{'all':<14} {count:>9} {memory.mib(rss):>10} {memory.mib(pss):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
