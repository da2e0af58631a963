"""The campaign form's text to the personalizer's mapping form and back."""

from __future__ import annotations

import pytest

from personalizer.campaigns import parse_campaign
from reports.dashboard.campaign_form import FormError, FormValues, document, read_form, values_of

CREATIVE = {
    "id": "a",
    "placement": "top",
    "image_url": "https://cdn.example.test/a.png",
    "alt": "A",
    "headline": "",
    "landing_url": "https://shop.example.test/a",
    "width": "728",
    "height": "90",
}


def test_the_form_makes_the_personalizers_mapping_and_back():
    lists = {f"creative_{k}": [v, ""] for k, v in CREATIVE.items()}  # and the blank row
    fields = {
        "id": "spring",
        "name": "Spring",
        "status": "paused",
        "priority": "3",
        "holdout_percent": "5",
        "daily_impressions": "1000",
        "cap_impressions": "3",
        "cap_hours": "24",
        "start": "2026-12-01T00:00:00+01:00",
        "rules": "all:\n  - country: [DE, AT]\n  - not: {device: [tablet]}",
    }
    values = read_form(fields, lists)
    assert len(values.creatives) == 1
    made = document(values, "shop")
    assert made["frequency_cap"] == {"impressions": 3, "hours": 24.0}
    assert made["rules"] == {"all": [{"country": ["DE", "AT"]}, {"not": {"device": ["tablet"]}}]}
    assert made["creatives"][0]["width"] == 728 and "headline" not in made["creatives"][0]
    campaign = parse_campaign(made)
    again = values_of(campaign.model_dump(mode="json"))
    assert again.fields["rules"].startswith("all:\n- country:")
    assert parse_campaign(document(again, "shop")) == campaign


def test_text_that_is_no_number_or_yaml_is_named():
    values = FormValues(
        {"id": "x", "priority": "high", "cap_hours": "a day", "rules": "all: [country: DE"},
        [{**CREATIVE, "width": "wide"}],
    )
    with pytest.raises(FormError) as raised:
        document(values, "shop")
    message = str(raised.value)
    assert "priority: a whole number, got 'high'" in message
    assert "cap_hours: a number, got 'a day'" in message
    assert "rules: not YAML or JSON" in message
    assert "creatives.0.width: a whole number, got 'wide'" in message


def test_empty_fields_are_left_to_the_campaigns_defaults():
    made = document(FormValues({"id": "x", "name": "X"}, [CREATIVE]), "shop")
    assert made["status"] == "active" and made["pacing"] == "even" and made["default"] is False
    assert not {"priority", "rules", "schedule", "frequency_cap"} & set(made)
    assert parse_campaign(made).priority == 0
