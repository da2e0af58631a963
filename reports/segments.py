"""A segment's customers as a CSV for e-mail tools: user id, visitor ids, scores, top
categories and the personalizer's top offers for the user (docs/reports.md, "Segment export").

The offers are the personalizer's own: ``clicktrail offers export`` ranks them as the decision
endpoint would for a request with only the user id. The reports service may not import the
personalizer (the ``reports`` import contract), so it runs that command, as an operator
would, in a child process with the same settings (``CommandOffers``); a test or another
deployment may hand in any ``OfferSource``. Customers who never identified have no user id,
hence no offers.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pipelines.warehouse.segments import Member
from reports.rfm import MEMBER_COLUMNS, member_row

EXPORT_COLUMNS = (*MEMBER_COLUMNS, "offers")
OFFERS_TIMEOUT_SECONDS = 300


class OffersUnavailable(Exception):
    """The personalizer's offers could not be had (the message says why)."""


class OfferSource(Protocol):
    def offers(self, site_id: str, user_ids: Sequence[str], count: int) -> dict[str, list[str]]:
        """Each user's top offers (SKUs, best first); users without offers may be missing.
        Raises ``OffersUnavailable``."""


class CommandOffers:
    """Offers from ``clicktrail offers export`` in a child process with ``env`` (the
    settings' variables). On chdb the child reaches the folder through the pipeline worker,
    or opens it itself when nobody holds it: close your own warehouse first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def offers(self, site_id: str, user_ids: Sequence[str], count: int) -> dict[str, list[str]]:
        if not user_ids:
            return {}
        with tempfile.TemporaryDirectory() as folder:
            users = Path(folder) / "users.txt"
            users.write_text("".join(f"{user}\n" for user in user_ids), encoding="utf-8")
            command = [
                sys.executable,
                "-c",
                "from clicktrail.cli import main; main()",
                "offers",
                "export",
                "--users",
                str(users),
                "--site",
                site_id,
                "--count",
                str(count),
            ]
            try:
                done = subprocess.run(
                    command,
                    env={**os.environ, **self.env},
                    capture_output=True,
                    text=True,
                    timeout=OFFERS_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise OffersUnavailable(
                    f"clicktrail offers export took over {OFFERS_TIMEOUT_SECONDS} s"
                ) from None
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no message"]
            raise OffersUnavailable(f"clicktrail offers export failed: {last[0]}")
        return offers_of_csv(done.stdout)


def offers_of_csv(text: str) -> dict[str, list[str]]:
    """Pure: ``clicktrail offers export``'s CSV (user_id, rank, sku, ...) to each user's SKUs
    in rank order."""
    found: dict[str, list[tuple[int, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        found.setdefault(row["user_id"], []).append((int(row["rank"]), row["sku"]))
    return {user: [sku for _, sku in sorted(ranked)] for user, ranked in found.items()}


def export_csv(members: Sequence[Member], offers: Mapping[str, Sequence[str]]) -> str:
    """The export: a row per customer, ``offers`` the user's SKUs separated by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for member in members:
        row = member_row(member)
        writer.writerow([*(str(cell) for cell in row), " ".join(offers.get(member.user_id, ()))])
    return out.getvalue()


def member_offers(
    source: OfferSource, site_id: str, members: Sequence[Member], count: int
) -> dict[str, list[str]]:
    users = sorted({member.user_id for member in members if member.user_id})
    return source.offers(site_id, users, count) if count else {}
