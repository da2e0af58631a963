"""What the profile sink keeps and for how long, read once from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings pulls in URL parsing the pure core does not need at run time
    from clicktrail.settings import Settings

DAY_MS = 86_400_000
MINUTE_MS = 60_000

# Interest added to a category (and each of its parents) per event, before decay. A page view
# counts only when the site's URL rules gave the page a category, and then only a little:
# landing on a category page says less than opening a product, adding it to the cart or buying.
# A cart or a purchase comes on top of the view of the same product, and people also buy
# outside what they usually look at (gifts, a one-off need): weighted 3 and 5, one cart made
# the top interest of a visitor with a few views more often than it was their lasting one
# (make bench-quality, interest recovery 0.853 -> 0.858 at 1.5 and 2; docs/benchmarks.md).
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"page_view": 0.25, "product_view": 1.0, "add_to_cart": 1.5, "purchase": 2.0}
)


@dataclass(frozen=True)
class ProfileConfig:
    half_life_ms: int = 7 * DAY_MS
    recent_products: int = 20
    recent_categories: int = 10
    purchased_items: int = 20
    orders_kept: int = 32  # order ids remembered so a resent purchase is not counted twice
    scored_categories: int = 50  # the highest interest scores kept per profile
    sessions_kept: int = 256  # session ids remembered to count visits
    # Event ids remembered per visitor id, so an event logged twice (a client resending after a
    # 503 whose first copy was written) counts once: a copy is caught while fewer than this
    # many other events of the visitor were applied since its original. 256 covers the
    # snippet's whole queue (200 events) sent twice; 6 bytes each. 0: only copies within one
    # batch are caught.
    event_ids_kept: int = 256
    ttl_ms: int = 30 * DAY_MS  # a profile nobody touched for this long expires
    include_bots: bool = False
    coview_window_ms: int = 30 * MINUTE_MS
    coview_neighbours: int = 5  # most pairs one product view adds
    coview_kept: int = 200  # co-viewed products kept per product
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)

    def __post_init__(self) -> None:
        counts = {
            "recent_products": self.recent_products,
            "recent_categories": self.recent_categories,
            "purchased_items": self.purchased_items,
            "orders_kept": self.orders_kept,
            "scored_categories": self.scored_categories,
            "sessions_kept": self.sessions_kept,
            "coview_kept": self.coview_kept,
        }
        for name, value in counts.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.event_ids_kept < 0:
            raise ValueError(f"event_ids_kept must not be negative, got {self.event_ids_kept}")
        if self.half_life_ms < 1 or self.ttl_ms < 1 or self.coview_window_ms < 1:
            raise ValueError("half_life_ms, ttl_ms and coview_window_ms must be positive")
        # A view pairs with neighbours found in the recent-products list, so a longer list of
        # neighbours than of recent products could never be filled the same way twice.
        if not 0 <= self.coview_neighbours <= self.recent_products:
            raise ValueError(
                f"coview_neighbours must be between 0 and recent_products "
                f"({self.recent_products}), got {self.coview_neighbours}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ProfileConfig:
        from clicktrail.settings import ConfigError

        try:
            return cls(
                half_life_ms=round(settings.profile_half_life_days * DAY_MS),
                recent_products=settings.profile_recent_products,
                recent_categories=settings.profile_recent_categories,
                purchased_items=settings.profile_purchased_items,
                ttl_ms=settings.profile_ttl_days * DAY_MS,
                include_bots=settings.profile_include_bots,
                coview_window_ms=settings.profile_coview_window_minutes * MINUTE_MS,
                coview_neighbours=settings.profile_coview_neighbours,
                event_ids_kept=settings.profile_event_ids_kept,
            )
        except ValueError as exc:
            raise ConfigError(
                "invalid configuration:\n  CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS: "
                f"must not exceed CLICKTRAIL_PROFILE_RECENT_PRODUCTS ({exc})"
            ) from None
