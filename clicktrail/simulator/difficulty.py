"""The fixed difficulty of the simulated traffic.

Every number that makes the traffic easier or harder to analyse (how noisy personas are, how
many bots, how often IPs are shared or change, how often cookies are lost) lives here and is
frozen. Quality scores of later stages (bot filtering, identity stitching, personalization) are
measured against traffic made with these values; changing one invalidates those scores, so a
change needs a new ``DIFFICULTY_VERSION`` and re-baselined scores, never a quiet tweak.
"""

from __future__ import annotations

DIFFICULTY_VERSION = 2  # 2: noise is off-persona and 40 % (was 15 % uniform over all categories)

# --- catalog ---------------------------------------------------------------------------------
PRODUCTS_PER_SUBCATEGORY = (12, 36)  # inclusive range, drawn per subcategory
PRODUCT_POPULARITY_EXPONENT = 0.9  # Zipf exponent of product popularity within a top category
PRICE_SPREAD = 0.45  # sigma of the log-normal spread of prices around a subcategory's base

# --- personas --------------------------------------------------------------------------------
DOMINANT_CATEGORY_COUNTS = (1, 2, 3)
DOMINANT_CATEGORY_COUNT_WEIGHTS = (0.35, 0.45, 0.20)
PERSONA_CONCENTRATION = 1.5  # gamma shape of the Dirichlet-like weights of dominant categories
# Share of a person's category choices made off-persona (uniformly over the categories outside
# the persona), so at least this share of each person's product views is noise the ranking
# must see through (issue 12: at least 40 %).
NOISE_SHARE = 0.4
SESSION_FOCUS_SHARE = 0.6  # share of persona-driven choices that stay in the session's category

# --- population ------------------------------------------------------------------------------
BOT_SHARE = 0.06  # share of simulated actors that are bots
DEVICE_SHARES = {"mobile": 0.55, "desktop": 0.40, "tablet": 0.05}
USER_AGENT_ZIPF_EXPONENT = 1.2  # within a device class: a few user agents are very common
BOT_USER_AGENT_ZIPF_EXPONENT = 1.0
HOUSEHOLD_SIZES = (1, 2, 3, 4)  # people (browsers) sharing a home connection
HOUSEHOLD_SIZE_WEIGHTS = (0.50, 0.30, 0.13, 0.07)
IPV6_HOUSEHOLD_SHARE = 0.20  # homes on IPv6; their address changes daily (privacy extensions)
OFFICE_SHARE = 0.08  # desktop people who browse from an office behind one NAT address
OFFICE_SIZE = (5, 30)  # inclusive range of people behind one office address
CELLULAR_SHARE = 0.60  # mobile people who also browse over a cellular network
CELLULAR_SESSION_SHARE = 0.5  # of their sessions, the share made over the cellular network
CARRIER_NETWORKS_PER_COUNTRY = 3
CARRIER_ADDRESSES_PER_NETWORK = 256  # carrier-grade NAT: few public addresses, many people
LANGUAGE_OVERRIDE_SHARE = 0.15  # people whose browser language is en-US whatever the country
IDENTIFIED_SHARE = 0.35  # people with an account; they identify at checkout or log in
LOGIN_SESSION_SHARE = 0.15  # sessions of account holders that start with a log-in

# --- returning and cookies -------------------------------------------------------------------
ONE_TIME_SHARE = 0.55  # people who never come back
RETURN_RATE_PER_DAY = 0.35  # median visits per day of returning people (log-normal)
RETURN_RATE_SPREAD = 0.8  # sigma of that log-normal
MIN_SESSION_GAP_MS = 30 * 60 * 1000  # a visit after a 30-minute pause is a new session
MAX_SESSIONS_PER_PERSON = 40
COOKIE_RESET_SHARE = 0.05  # returning sessions that arrive with a fresh visitor id

# --- sessions --------------------------------------------------------------------------------
REFERRER_KIND_WEIGHTS = {
    "direct": 0.35,
    "search": 0.30,
    "social": 0.10,
    "email": 0.08,
    "campaign": 0.12,
    "referral": 0.05,
}
BOUNCE_SHARE = 0.40  # sessions that leave after the landing page
EXIT_SHARE = 0.18  # chance of leaving after each later page
MAX_PAGES_PER_SESSION = 60
ADD_TO_CART_SHARE = 0.06  # on a product page outside the person's interests
ADD_TO_CART_INTEREST_FACTOR = 2.5  # multiplier when the product is in a dominant category
CART_TO_CHECKOUT_SHARE = 0.55
CHECKOUT_TO_PURCHASE_SHARE = 0.65
TRACKED_CLICK_SHARE = 0.30  # navigations that the site also reports as a click event
NEWSLETTER_SIGNUP_SHARE = 0.005  # sessions with a newsletter sign-up (custom event)
HEARTBEAT_MS = 10_000  # a page ping every 10 seconds of engagement
MAX_PINGS_PER_PAGE = 30

# --- bots ------------------------------------------------------------------------------------
BOT_DAILY_VISIT_SHARE = 0.3  # chance that a bot crawls on a given day
BOT_PAGES_PER_SESSION = (10, 60)  # inclusive range
BOT_PAGE_GAP_MS = (800, 4000)  # inclusive range between two bot page views


def as_dict() -> dict[str, object]:
    """The constants above, for the ground truth file (so a score names what it was made on)."""
    return {
        name.lower(): value
        for name, value in globals().items()
        if name.isupper() and not name.startswith("_")
    }
