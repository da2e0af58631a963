"""A planted sales pattern: a daily trend and a weekly rhythm in the purchase rate.

``--trend`` and ``--weekly`` give the sales report something to find (issue 14: its forecast
is back-tested on traffic with a known trend and weekly pattern). The pattern scales the
chance that a checkout ends in a purchase on each simulated (UTC) day ``d``:

    factor(d) = (1 + trend) ** d * weekly[weekday(d)] / max over the period's days

so the largest day keeps today's chance and every other day gets proportionally fewer
orders (a probability cannot grow past it). Without a pattern the factor is 1 and the
traffic is byte-identical to a run without these options.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

FLAT_WEEK = (1.0,) * 7


@dataclass(frozen=True)
class SalesPattern:
    trend: float = 0.0  # daily growth of the purchase rate: 0.01 is +1 % a day
    weekly: tuple[float, ...] = FLAT_WEEK  # multipliers, Monday first

    def __post_init__(self) -> None:
        if not -0.5 < self.trend < 0.5:
            raise ValueError(f"trend must be between -0.5 and 0.5 a day, got {self.trend}")
        if len(self.weekly) != 7 or any(not 0 < value <= 100 for value in self.weekly):
            raise ValueError(
                f"weekly must be 7 multipliers above 0 (Monday first), got {self.weekly}"
            )

    @property
    def flat(self) -> bool:
        return self.trend == 0.0 and len(set(self.weekly)) == 1

    def factors(self, start: dt.date, days: int) -> tuple[float, ...]:
        """The purchase-chance factor of each simulated day, the largest 1.0; ``()`` when
        the pattern is flat (every day 1.0)."""
        if self.flat:
            return ()
        raw = [
            (1.0 + self.trend) ** day * self.weekly[(start + dt.timedelta(days=day)).weekday()]
            for day in range(days)
        ]
        peak = max(raw)
        return tuple(value / peak for value in raw)

    def as_json(self) -> dict[str, object]:
        return {"trend": self.trend, "weekly": list(self.weekly)}


def parse_weekly(text: str) -> tuple[float, ...]:
    """``"1,1,1,1,1.2,1.5,1.3"`` (Monday first) to multipliers; raises ValueError."""
    parts: Sequence[str] = [part.strip() for part in text.split(",")]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"weekly must be 7 numbers separated by commas, got {text!r}") from None
    SalesPattern(weekly=values)  # validates
    return values
