"""``clicktrail offers export --users FILE --site S``: the offers of a list of identified users
as CSV, for e-mail tools; the decision endpoint's ranking on the running stores (profiles by
user id, the catalog, popularity from the warehouse)."""

from __future__ import annotations

import csv
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import click

from clicktrail.cli import load_settings
from personalizer.catalog import Catalog
from personalizer.offers import COVIEWS_PER_PRODUCT, RECENT_VIEWS, Offer, Popularity, rank_offers
from pipelines.profiles.store import Profile, ProfileStore

COLUMNS = ("user_id", "rank", "sku", "title", "url", "image_url", "price", "currency", "reason")
MAX_USER_ID = 256
_SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class UserIds:
    ids: list[str]
    bad: list[str]  # "line N: why"


def read_user_ids(lines: Iterable[str]) -> UserIds:
    """One user id a line (surrounding spaces dropped, blank lines and repeats skipped)."""
    ids: dict[str, None] = {}
    bad = []
    for number, line in enumerate(lines, start=1):
        user = line.strip()
        if not user:
            continue
        if len(user) > MAX_USER_ID or _CONTROL.search(user):
            bad.append(f"line {number}: not a user id (at most {MAX_USER_ID} printable chars)")
            continue
        ids.setdefault(user, None)
    return UserIds(list(ids), bad)


def user_offers(
    store: ProfileStore,
    site_id: str,
    user_id: str,
    catalog: Catalog,
    popularity: Popularity,
    count: int,
    now_ms: int,
) -> list[Offer]:
    """As the decision endpoint ranks the offers of a request with only a user id: the user's
    merged profile, the country of their latest events, co-views of their recent products."""
    profile = store.get_user(site_id, user_id)
    recent = [sku for sku, _ in profile.recent_products[:RECENT_VIEWS]]
    coviews = {}
    if recent:
        found = store.coviews_many(site_id, recent, limit=COVIEWS_PER_PRODUCT)
        coviews = {sku: [(c.sku, c.times) for c in near] for sku, near in found.items()}
    return rank_offers(
        profile, _country(profile), catalog, popularity, coviews, now_ms, count=count
    )


def _country(profile: Profile) -> str:
    return profile.location.country if profile.location is not None else ""


def csv_rows(user_id: str, offers: Sequence[Offer], catalog: Catalog) -> Iterator[list[str]]:
    for rank, offer in enumerate(offers, start=1):
        product = catalog.get(offer.sku)
        if product is None:
            continue
        yield [
            user_id,
            str(rank),
            product.sku,
            product.title,
            product.url,
            product.image_url,
            str(product.price),
            product.currency,
            offer.reason,
        ]


@click.group("offers")
def offers() -> None:
    """Offers outside a decision request."""


@offers.command("export")
@click.option(
    "--users",
    "users_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="User ids, one a line.",
)
@click.option("--site", required=True, help="The site the users belong to.")
@click.option(
    "--count",
    type=click.IntRange(1, 50),
    default=6,
    show_default=True,
    help="Offers per user.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV here [default: standard output].",
)
def export(users_path: Path, site: str, count: int, out: Path | None) -> None:
    """Each user's offers as CSV (one row an offer: user_id, rank, sku, title, url,
    image_url, price, currency, reason), ranked as the decision endpoint ranks them."""
    from personalizer.catalog_store import CatalogStore, CatalogUnavailable
    from personalizer.popularity import PopularityCache
    from pipelines.profiles.clients import writer_client
    from pipelines.profiles.redis_store import RedisProfileStore
    from pipelines.profiles.store import ProfileStoreError
    from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.reader import WarehouseEventStore

    if not _SITE_ID.fullmatch(site):
        raise click.BadParameter("1-64 letters, digits, '-' or '_'", param_hint="--site")
    settings = load_settings()
    users = read_user_ids(users_path.read_text(encoding="utf-8", errors="replace").splitlines())
    for problem in users.bad:
        click.echo(f"{users_path}: {problem}", err=True)
    try:
        catalog = CatalogStore(writer_client(settings.state_url.url)).load(site)
    except CatalogUnavailable as exc:
        raise click.ClickException(f"the catalog store is unavailable: {exc}") from None
    if not len(catalog):
        click.echo(f"site {site} has no catalog: no offers (clicktrail catalog import)", err=True)
    try:
        # a one-shot tool: on chdb through the worker when it runs, else on the folder itself
        timeout = settings.warehouse_read_timeout_ms / 1000
        with open_warehouse(settings.clickhouse_url, timeout) as warehouse:
            popularity = PopularityCache(WarehouseEventStore(warehouse)).refresh_now(site)
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(f"popularity: the warehouse is unavailable: {exc}") from None
    now_ms = int(time.time() * 1000)
    written = 0
    # seconds, not the serving milliseconds: a batch job would rather wait than skip a user
    with (
        RedisProfileStore.from_url(settings.profile_url.url, read_timeout_ms=5000) as store,
        out.open("w", encoding="utf-8", newline="") if out else nullcontext(sys.stdout) as stream,
    ):
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for user in users.ids:
            try:
                ranked = user_offers(store, site, user, catalog, popularity, count, now_ms)
            except ProfileStoreError as exc:
                raise click.ClickException(f"the profile store failed at {user!r}: {exc}") from None
            for row in csv_rows(user, ranked, catalog):
                writer.writerow(row)
                written += 1
    click.echo(f"{len(users.ids)} users, {written} offers", err=True)
