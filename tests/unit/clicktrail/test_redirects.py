"""``own_path``: the one check every form that redirects runs on its ``next`` (the sweep in
tests/integration/test_security_sweep.py posts the same targets to the running forms)."""

from __future__ import annotations

import pytest

from clicktrail.serving.redirects import own_path


@pytest.mark.parametrize(
    "target",
    ["/demo", "/demo/", "/demo/p/boots?colour=red", "/demo/c/shoes#top"],
)
def test_the_roots_own_paths_pass(target):
    assert own_path(target, "/demo")


@pytest.mark.parametrize(
    "target",
    [
        "",
        "/",
        "/demonstration",  # a prefix of the name, not a path below the root
        "/dashboard/",
        "//evil.example",
        "/demo//evil.example",
        "/demo/\\evil.example",
        "/\\evil.example",
        "/demo/\t/evil.example",  # a browser drops the tab: //evil.example
        "/demo/\r\nSet-Cookie: x=1",
        "https://evil.example/demo/",
        "javascript:alert(1)",
        " /demo/",
    ],
)
def test_anything_else_is_refused(target):
    assert not own_path(target, "/demo")


def test_a_root_given_with_its_slash_takes_only_paths_below_it():
    assert own_path("/dashboard/overview", "/dashboard/")
    assert own_path("/dashboard/", "/dashboard/")
    assert not own_path("/dashboard", "/dashboard/")
