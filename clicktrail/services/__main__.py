"""``python -m clicktrail.services {install,start,stop,status,urls} [service ...]``.

Exit codes: 0 done; 1 a service failed (the message says which and why); 2 bad usage;
3 ``status`` found a named service not up.
"""

from __future__ import annotations

import argparse
import sys

from clicktrail import services
from clicktrail.services.errors import ServiceError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clicktrail.services",
        description="Install, start and stop Clicktrail's services on 127.0.0.1 (idempotent).",
        epilog=(
            "Run folder: var/run/<CLICKTRAIL_PORT_OFFSET>/ or CLICKTRAIL_SERVICES_DIR. "
            "No service names means all of them."
        ),
    )
    parser.add_argument("command", choices=("install", "start", "stop", "status", "urls"))
    parser.add_argument(
        "--kafka",
        action="store_true",
        help="urls: the event log on the Kafka broker instead of Redis Streams",
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
    try:
        if args.command == "install":
            services.install(names)
        elif args.command == "start":
            services.start(names)
        elif args.command == "stop":
            services.stop(names)
        elif args.command == "status":
            return _print_status(names)
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
        pid = str(st.pid) if st.pid is not None else "-"
        print(f"{st.name:<14} {st.state:<8} pid={pid:<8} port={st.port}")
    # With names, the exit code answers "are these up?"; without, status is informational.
    if names and not all(st.up for st in statuses.values()):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
