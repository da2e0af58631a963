"""Campaign management in the dashboard against the real durable Redis: who may manage,
creating through the form with the personalizer's validation and its messages, editing,
pausing and resuming (with the history's actor), CSRF on every form, and the preview of what
a sample visitor would be shown."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.accounts.model import new_account
from clicktrail.accounts.registry import edit_accounts
from clicktrail.settings import Settings
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from personalizer.campaign_store import CampaignStore, campaigns_key, history_key, version_key
from pipelines.warehouse.base import WarehouseUnavailable
from reports.app import create_app
from tests.integration.test_dashboard_pages import PASSWORD, AwayStore, client_at, sign_in

pytestmark = pytest.mark.redis

CREATIVE = {
    "creative_id": "de-a",
    "creative_placement": "top",
    "creative_image_url": "https://cdn.example.test/de.png",
    "creative_alt": "Schuhe",
    "creative_headline": "",
    "creative_landing_url": "https://shop.example.test/de",
    "creative_width": "728",
    "creative_height": "90",
}


@pytest.fixture
def site() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app(tmp_path: Path, site: str, state_redis):  # noqa: ANN001, ANN201
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        tokens_file=tmp_path / "tokens.json",
        accounts_file=tmp_path / "accounts.json",
        dashboard_session_key_file=tmp_path / "session.key",
        dashboard_signin_limit="1000 per minute",
        sites_reload_seconds=0.0,
    )
    with edit_sites(settings.sites_file) as sites:
        sites[site] = Site(site, timezone="Europe/Berlin")
    with edit_accounts(settings.accounts_file) as accounts:
        accounts["ana"] = new_account("ana", PASSWORD, "marketer", (site,), 0)
        accounts["reader"] = new_account("reader", PASSWORD, "read", (site,), 0)
    # The pages here never read the warehouse: one that is away proves it.
    app = create_app(settings, store=AwayStore(WarehouseUnavailable("not needed")))
    yield app
    state_redis.delete(campaigns_key(site), history_key(site), version_key(site))
    state_redis.srem("pz:campaign-sites", site)


@pytest.fixture
def store(state_redis) -> CampaignStore:  # noqa: ANN001
    return CampaignStore(state_redis)


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form(client, site: str, **fields: str):  # noqa: ANN001, ANN201
    """Post the new-campaign form as a browser would (its token from the page)."""
    page = client.get(f"/dashboard/manage/campaigns/new?site={site}").get_data(as_text=True)
    data = {"csrf_token": token_of(page), "mode": "new", "original": "", **fields}
    return client.post(f"/dashboard/manage/campaigns/save?site={site}", data=data)


def test_only_marketers_and_admins_manage(app, site):
    reader = client_at(app)
    sign_in(reader, "reader")
    answer = reader.get(f"/dashboard/manage/campaigns?site={site}")
    assert answer.status_code == 403 and "marketer or admin" in answer.get_data(as_text=True)
    assert "Manage campaigns" not in reader.get(f"/dashboard/nothing?site={site}").get_data(
        as_text=True
    )
    assert client_at(app).get(f"/dashboard/manage/campaigns?site={site}").status_code == 302
    ana = client_at(app)
    sign_in(ana)
    html = ana.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)
    assert "data-none" in html and "Manage campaigns" in html
    assert ana.get("/dashboard/manage/campaigns?site=elsewhere").status_code == 404


def test_a_campaign_is_created_edited_paused_and_resumed(app, site, store):
    client = client_at(app)
    sign_in(client)
    answer = form(
        client,
        site,
        id="shoes-de",
        name="Schuhe für Deutschland",
        status="active",
        priority="5",
        holdout_percent="10",
        rules="all:\n  - country: [DE]\n  - interest: {category: Shoes, above: 0.5}",
        **CREATIVE,
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    stored = store.load(site)["shoes-de"]
    assert stored.name == "Schuhe für Deutschland" and stored.priority == 5
    assert stored.holdout_percent == 10 and stored.creatives[0].width == 728
    assert stored.rules == {
        "all": [{"country": ["DE"]}, {"interest": {"category": "Shoes", "above": 0.5}}]
    }
    assert store.history(site)[0]["actor"] == "dashboard:account:ana"
    listing = client.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)
    assert "Saved shoes-de: + shoes-de" in listing and 'data-campaign="shoes-de"' in listing

    # Edit: the form comes filled; a second creative through the blank row.
    page = client.get(f"/dashboard/manage/campaigns/shoes-de/edit?site={site}").get_data(
        as_text=True
    )
    assert 'value="Schuhe für Deutschland"' in page and "country:" in page
    data = {
        "csrf_token": token_of(page),
        "mode": "edit",
        "original": "shoes-de",
        "id": "shoes-de",
        "name": "Schuhe DE",
        "status": "active",
        "priority": "5",
        "holdout_percent": "10",
        "rules": "country: [DE]",
    }
    second = {key: [value, value.replace("de", "at")] for key, value in CREATIVE.items()}
    second["creative_width"] = ["728", "300"]
    second["creative_height"] = ["90", "250"]
    answer = client.post(f"/dashboard/manage/campaigns/save?site={site}", data={**data, **second})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    stored = store.load(site)["shoes-de"]
    assert stored.name == "Schuhe DE" and [c.id for c in stored.creatives] == ["de-a", "at-a"]
    assert stored.rules == {"country": ["DE"]}

    # Pause and resume, by their forms.
    listing = client.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)
    pause = client.post(
        f"/dashboard/manage/campaigns/shoes-de/status?site={site}",
        data={"csrf_token": token_of(listing), "status": "paused"},
    )
    assert pause.status_code == 302 and store.load(site)["shoes-de"].status == "paused"
    listing = client.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)
    assert 'data-status="paused"' in listing and "data-resume" in listing
    client.post(
        f"/dashboard/manage/campaigns/shoes-de/status?site={site}",
        data={"csrf_token": token_of(listing), "status": "active"},
    )
    assert store.load(site)["shoes-de"].status == "active"
    assert [entry["action"] for entry in store.history(site)] == ["change"] * 3 + ["add"]


def test_the_personalizers_errors_are_shown_in_the_form(app, site, store):
    client = client_at(app)
    sign_in(client)
    bad = {**CREATIVE, "creative_image_url": "ftp://cdn.example.test/a.png", "creative_alt": ""}
    answer = form(client, site, id="x", name="", **bad)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "The campaign was not saved" in html
    for words in (
        "name: String should have at least 1 character",
        "creatives.0.image_url: must be an absolute http(s) URL",
        "creatives.0.alt:",
    ):
        assert words in html, words
    assert 'value="ftp://cdn.example.test/a.png"' in html  # what was typed stays
    for fields, words in (
        ({"priority": "high"}, "priority: a whole number, got &#39;high&#39;"),
        ({"rules": "all: [country: DE"}, "rules: not YAML or JSON"),
        ({"rules": "planet: [mars]"}, "rules:"),
        ({"id": "bad id!"}, "id: String should match pattern"),
        ({"cap_impressions": "3"}, "frequency_cap.hours"),
    ):
        answer = form(client, site, **{"id": "x", "name": "X", **fields, **CREATIVE})
        assert answer.status_code == 422, fields
        assert words in answer.get_data(as_text=True), (
            fields,
            answer.get_data(as_text=True)[-1500:],
        )
    assert store.load(site) == {}
    assert form(client, site, id="x", name="X", **CREATIVE).status_code == 302
    again = form(client, site, id="x", name="X again", **CREATIVE)
    assert again.status_code == 422 and "exists already" in again.get_data(as_text=True)
    assert store.load(site)["x"].name == "X"


def test_every_form_needs_its_csrf_token(app, site, store):
    client = client_at(app)
    sign_in(client)
    answer = client.post(
        f"/dashboard/manage/campaigns/save?site={site}",
        data={"mode": "new", "id": "x", "name": "X", **CREATIVE},
    )
    assert answer.status_code == 400 and "CSRF" in answer.get_data(as_text=True)
    for path in ("x/status", "preview"):
        assert client.post(f"/dashboard/manage/campaigns/{path}?site={site}").status_code == 400
    assert store.load(site) == {}
    listing = client.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", listing, re.S)
    assert forms and all('name="csrf_token"' in f for f in forms)


def test_the_preview_shows_the_rules_and_the_decision(app, site, store):
    client = client_at(app)
    sign_in(client)
    rules = "all:\n  - country: [DE]\n  - interest: {category: Shoes, above: 0.5}"
    assert (
        form(client, site, id="shoes-de", name="Shoes DE", rules=rules, **CREATIVE).status_code
        == 302
    )
    world = {**CREATIVE, "creative_id": "w-a"}
    assert form(client, site, id="world", name="World", default="1", **world).status_code == 302
    listing = client.get(f"/dashboard/manage/campaigns?site={site}").get_data(as_text=True)

    def preview(**sample: str) -> str:
        answer = client.post(
            f"/dashboard/manage/campaigns/preview?site={site}",
            data={"csrf_token": token_of(listing), **sample},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)[-1500:]
        return answer.get_data(as_text=True)

    html = preview(country="de", device="mobile", interests="Shoes=0.9, Bags=0.1")
    assert 'data-placement="top" data-shows="shoes-de"' in html
    assert 'data-rule="shoes-de" data-matched="true"' in html
    assert "shoes: 0.900, above 0.5" in html  # the rule engine's own explanation
    html = preview(country="DE", interests="Shoes=0.2")
    assert 'data-placement="top" data-shows="world"' in html
    assert 'data-rule="shoes-de" data-matched="false"' in html and "global default" in html
    assert 'value="Shoes=0.2"' in html  # the sample stays in the form
    bad = client.post(
        f"/dashboard/manage/campaigns/preview?site={site}",
        data={"csrf_token": token_of(listing), "interests": "Shoes"},
    )
    assert bad.status_code == 400 and "category=score pairs" in bad.get_data(as_text=True)
