"""The read side imports without the write side: a decision service that reads profiles loads
neither the sink, the rebuild, the aggregation nor the warehouse. Each import runs in a fresh
interpreter, since this one has long imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import pipelines.profiles

ROOT = Path(__file__).parents[3]
WRITE_SIDE = {
    "pipelines.profiles.sink",
    "pipelines.profiles.rebuild",
    "pipelines.profiles.aggregate",
    "pipelines.profiles.wire",
    "pipelines.profiles_rebuild",
    "pipelines.warehouse",
    "pipelines.worker",
    "clicktrail.settings",
}


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import pipelines.profiles.store",
        "import pipelines.profiles.redis_store",
        "from pipelines.profiles import RedisProfileStore, ProfileStoreUnavailable",
    ],
)
def test_the_read_side_loads_no_write_side(statement: str):
    assert loaded_after(statement) & WRITE_SIDE == set()


def test_the_interface_loads_no_redis_client():
    assert "redis" not in loaded_after("import pipelines.profiles.store")


def test_the_package_alone_loads_none_of_its_modules():
    loaded = loaded_after("import pipelines.profiles")
    assert {name for name in loaded if name.startswith("pipelines.profiles.")} == set()


def test_no_import_chain_leads_from_the_read_side_to_the_write_side():
    # what the layer contracts (import-linter, setup.cfg) see: static imports, including
    # those only type checkers run, so the package's lazy names must not count as imports
    graph = grimp.build_graph("pipelines", cache_dir=None)
    for reader in (
        "pipelines.profiles",
        "pipelines.profiles.store",
        "pipelines.profiles.redis_store",
    ):
        for writer in sorted(WRITE_SIDE - {"clicktrail.settings"}):
            assert graph.find_shortest_chain(reader, writer) is None, (reader, writer)


def test_every_package_name_is_the_modules_own():
    # the names other code imports from the package (bench/profiles.py, the tests) still work
    for name in pipelines.profiles.__all__:
        value = getattr(pipelines.profiles, name)
        assert value.__module__.startswith("pipelines.profiles."), name
        assert value is getattr(sys.modules[value.__module__], name)
    with pytest.raises(AttributeError, match="no attribute 'load_profile'"):
        _ = pipelines.profiles.load_profile


def test_the_serving_store_follows_the_settings():
    from clicktrail.settings import Settings
    from pipelines.profiles.factory import open_profile_store

    settings = Settings.from_env(
        {"CLICKTRAIL_PROFILE_READ_TIMEOUT_MS": "7", "CLICKTRAIL_PROFILE_READ_POOL_SIZE": "3"}
    )
    store = open_profile_store(settings)
    pool = store.client.connection_pool
    assert pool.connection_kwargs["socket_timeout"] == 0.007
    assert pool.max_connections == 3
    store.close()
