"""Shared test configuration.

Markers: anything marked `netns` (builds network namespaces) or `interop`
(runs the real keepalived) is also `slow`, so `make test-fast` skips it.

Lab fixtures (fastvrrp.bench.lab), for every test folder:

    def test_x(lab): ...            # an empty Lab, torn down by a finaliser
    def test_y(star): ...           # (lab, {"a": Link, "b": Link}) on switch sw / br0
    def test_z(pair): ...           # engine_lab.VrrpPair on `star`: daemons, address watch
"""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("netns") or item.get_closest_marker("interop"):
            item.add_marker(pytest.mark.slow)


def require_root():
    if os.geteuid() != 0:
        pytest.skip("network-namespace labs need root")


@pytest.fixture
def lab(request):
    from fastvrrp.bench.lab import Lab

    require_root()
    made = Lab()
    request.addfinalizer(made.close)
    return made


@pytest.fixture
def star(lab):
    links = lab.star(("a", "b"))
    return lab, {node: node_links[0] for node, node_links in links.items()}


@pytest.fixture
def pair(star):
    """The lab's two nodes as an engine_lab.VrrpPair (daemons, an address watch);
    every daemon's log is printed at teardown (pytest shows it when a test failed)."""
    from engine_lab import VrrpPair

    lab, links = star
    made = VrrpPair(lab, links)
    yield made
    made.close()
    print(made.logs())
