"""Devices: user agents from the uap-core corpus (Zipf-weighted), device classes and screens."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from importlib import resources

from clicktrail.simulator import difficulty
from clicktrail.simulator.randomness import derived_random, zipf_cumulative_weights

# Matched against the lower-cased string: a case-sensitive search is ten times faster than
# re.IGNORECASE over this many alternatives.
_BOT = re.compile(
    r"bot|crawl|spider|slurp|scrap|fetch|archiv|monitor|synthetic|headless|preview"
    r"|compatible; google|https?://|python|curl|wget|java/|libwww|statuscake"
)
_TABLET = re.compile(r"iPad|Tablet|SM-T\d|SM-P\d|Nexus (?:7|9|10)\b|Kindle|Silk/")
_MOBILE = re.compile(r"mobi|iphone|ipod|android|opera mini|windows phone|blackberry|symbian|nokia")
# What an ordinary browser sends: platform, engine, and a browser token at the end. These go
# first in the popularity order (recent platforms first of all) so the most common user agents
# look like mainstream browsers, not like the corpus's odd app and test strings.
_MAINSTREAM = re.compile(
    r"^Mozilla/5\.0 \((?:Windows NT|Macintosh|X11; (?:Ubuntu; )?Linux|Linux; Android|iPhone|iPad)"
    r"[^)]*\) (?:AppleWebKit|Gecko)[^()]*(?:\([^)]*\))?[^()]* "
    r"(?:(?:Mobile )?Safari/[\d.]+|Firefox/[\d.]+|Edg/[\d.]+)$"
)
_RECENT_PLATFORM = re.compile(
    r"Windows NT 1\d\.|Mac OS X 1[0-5]_1\d|iPhone OS 1\d_|CPU OS 1\d_|Android (?:[89]|1\d)[.;]"
)

SCREENS = {
    "desktop": ("1920x1080", "1366x768", "1536x864", "2560x1440", "1440x900", "1280x720"),
    "mobile": ("390x844", "412x915", "375x667", "360x800", "414x896", "393x873"),
    "tablet": ("810x1080", "768x1024", "820x1180", "800x1280"),
}
# Browser chrome (toolbars, tabs) the viewport loses: (width, height) ranges in pixels.
_CHROME = {
    "desktop": ((0, 17), (70, 160)),
    "mobile": ((0, 0), (60, 140)),
    "tablet": ((0, 0), (50, 90)),
}


def load_user_agents() -> list[str]:
    """The packaged corpus (clicktrail/data/user_agents.txt, see USER_AGENTS.md)."""
    text = (resources.files("clicktrail") / "data" / "user_agents.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


def is_bot_agent(user_agent: str) -> bool:
    return _BOT.search(user_agent.lower()) is not None


def device_class(user_agent: str) -> str:
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent.lower()):
        return "mobile"
    return "desktop"


@dataclass(frozen=True)
class RankedAgents:
    """User agents in popularity order with Zipf cumulative weights."""

    agents: tuple[str, ...]
    cum_weights: tuple[float, ...]

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.agents, cum_weights=self.cum_weights)[0]


@dataclass(frozen=True)
class UserAgentPool:
    humans: dict[str, RankedAgents]  # by device class
    bots: RankedAgents


def build_user_agent_pool(agents: list[str], seed: int) -> UserAgentPool:
    rng = derived_random(seed, "user-agents")
    tiers: dict[str, tuple[list[str], list[str], list[str]]] = {
        name: ([], [], []) for name in SCREENS
    }
    bots: list[str] = []
    for agent in agents:
        if is_bot_agent(agent):
            bots.append(agent)
        else:
            tiers[device_class(agent)][_popularity_tier(agent)].append(agent)
    humans = {}
    for name, class_tiers in tiers.items():
        ranked: list[str] = []
        for tier in class_tiers:
            rng.shuffle(tier)
            ranked.extend(tier)
        humans[name] = _ranked(ranked, difficulty.USER_AGENT_ZIPF_EXPONENT)
    rng.shuffle(bots)
    if not bots or not all(pool.agents for pool in humans.values()):
        raise ValueError("the user-agent corpus needs bots and every device class")
    return UserAgentPool(humans, _ranked(bots, difficulty.BOT_USER_AGENT_ZIPF_EXPONENT))


def _popularity_tier(agent: str) -> int:
    if not _MAINSTREAM.match(agent):
        return 2
    return 0 if _RECENT_PLATFORM.search(agent) else 1


def _ranked(agents: list[str], exponent: float) -> RankedAgents:
    return RankedAgents(tuple(agents), tuple(zipf_cumulative_weights(len(agents), exponent)))


@dataclass(frozen=True)
class Device:
    device_class: str  # desktop, mobile or tablet
    user_agent: str
    screen: str | None  # WIDTHxHEIGHT
    viewport: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"class": self.device_class, "user_agent": self.user_agent, "screen": self.screen}


def draw_device(rng: random.Random, pool: UserAgentPool) -> Device:
    names = list(difficulty.DEVICE_SHARES)
    name = rng.choices(names, weights=[difficulty.DEVICE_SHARES[n] for n in names])[0]
    screen = rng.choice(SCREENS[name])
    width, height = (int(part) for part in screen.split("x"))
    (w_low, w_high), (h_low, h_high) = _CHROME[name]
    viewport = f"{width - rng.randint(w_low, w_high)}x{height - rng.randint(h_low, h_high)}"
    return Device(name, pool.humans[name].draw(rng), screen, viewport)


def draw_bot_device(rng: random.Random, pool: UserAgentPool) -> Device:
    # Crawlers that run scripts mostly use a fixed headless window; many report none.
    screen = "800x600" if rng.random() < 0.5 else None
    return Device("bot", pool.bots.draw(rng), screen, screen)
