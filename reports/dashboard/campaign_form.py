"""The campaign form's fields to a campaign's mapping form (what the personalizer's
``parse_campaign`` validates) and back. Pure: no validation of its own beyond turning text into
numbers and YAML, so the personalizer's messages are the ones a marketer reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

CREATIVE_FIELDS = (
    "id",
    "placement",
    "image_url",
    "alt",
    "headline",
    "landing_url",
    "width",
    "height",
)
STATUSES = ("active", "paused", "archived")
PACINGS = ("even", "asap")


class FormError(ValueError):
    """Fields that are not even numbers or YAML (the message names each)."""


@dataclass
class FormValues:
    """What the form shows: the text of each field, one dict per creative."""

    fields: dict[str, str] = field(default_factory=dict)
    creatives: list[dict[str, str]] = field(default_factory=list)


def read_form(form: Mapping[str, str], lists: Mapping[str, Sequence[str]]) -> FormValues:
    """The submitted text, as typed (``lists``: each ``creative_<field>`` in row order)."""
    names = (
        "id",
        "name",
        "status",
        "priority",
        "default",
        "holdout_percent",
        "daily_impressions",
        "total_impressions",
        "pacing",
        "cap_impressions",
        "cap_hours",
        "start",
        "end",
        "rules",
    )
    values = FormValues({name: form.get(name, "").strip() for name in names})
    columns = {name: list(lists.get(f"creative_{name}", ())) for name in CREATIVE_FIELDS}
    rows = max((len(column) for column in columns.values()), default=0)
    for n in range(rows):
        row = {
            name: (columns[name][n] if n < len(columns[name]) else "").strip() for name in columns
        }
        if any(row.values()):  # the blank row for a new creative stays out
            values.creatives.append(row)
    return values


def document(values: FormValues, site_id: str) -> dict[str, Any]:
    """The campaign's mapping form. Raises ``FormError`` for text that is not a number where
    one is needed, or rules that are not YAML; the rest is the personalizer's to judge."""
    text = values.fields
    problems: list[str] = []

    def number(name: str, kind: type = int) -> Any:
        raw = text.get(name, "")
        if not raw:
            return None
        try:
            return kind(raw)
        except ValueError:
            problems.append(
                f"{name}: {'a whole number' if kind is int else 'a number'}, got {raw!r}"
            )
            return None

    out: dict[str, Any] = {
        "id": text.get("id", ""),
        "site_id": site_id,
        "name": text.get("name", ""),
        "status": text.get("status", "") or "active",
        "default": text.get("default", "") in ("1", "on", "true"),
        "pacing": text.get("pacing", "") or "even",
    }
    for name, kind in (
        ("priority", int),
        ("holdout_percent", float),
        ("daily_impressions", int),
        ("total_impressions", int),
    ):
        found = number(name, kind)
        if found is not None:
            out[name] = found
    cap = (number("cap_impressions"), number("cap_hours", float))
    if cap != (None, None):
        out["frequency_cap"] = {"impressions": cap[0], "hours": cap[1]}
    schedule = {name: text[name] for name in ("start", "end") if text.get(name)}
    if schedule:
        out["schedule"] = schedule
    if text.get("rules"):
        try:
            out["rules"] = yaml.safe_load(text["rules"])
        except yaml.YAMLError as exc:
            problems.append(f"rules: not YAML or JSON ({str(exc).splitlines()[0]})")
    creatives = []
    for n, row in enumerate(values.creatives):
        creative: dict[str, Any] = {key: value for key, value in row.items() if value}
        for name in ("width", "height"):
            if name in creative:
                try:
                    creative[name] = int(creative[name])
                except ValueError:
                    problems.append(f"creatives.{n}.{name}: a whole number, got {row[name]!r}")
        creatives.append(creative)
    out["creatives"] = creatives
    if problems:
        raise FormError("; ".join(problems))
    return out


def values_of(campaign: Mapping[str, Any]) -> FormValues:
    """A stored campaign (its JSON form) as the form's text."""
    cap = campaign.get("frequency_cap") or {}
    schedule = campaign.get("schedule") or {}
    rules = campaign.get("rules")

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    fields = {
        "id": campaign["id"],
        "name": campaign.get("name", ""),
        "status": campaign.get("status", "active"),
        "priority": text(campaign.get("priority", 0)),
        "default": "1" if campaign.get("default") else "",
        "holdout_percent": text(campaign.get("holdout_percent", 0.0)),
        "daily_impressions": text(campaign.get("daily_impressions")),
        "total_impressions": text(campaign.get("total_impressions")),
        "pacing": campaign.get("pacing", "even"),
        "cap_impressions": text(cap.get("impressions")),
        "cap_hours": text(cap.get("hours")),
        "start": text(schedule.get("start")),
        "end": text(schedule.get("end")),
        "rules": ""
        if rules is None
        else yaml.safe_dump(rules, sort_keys=False, allow_unicode=True).strip(),
    }
    creatives = [
        {name: text(creative.get(name, "")) for name in CREATIVE_FIELDS}
        for creative in campaign.get("creatives", ())
    ]
    return FormValues(fields, creatives)
