"""Fixtures for tests that build network-namespace labs (fastvrrp.bench.lab).

    def test_x(lab): ...            # an empty Lab, torn down by a finaliser
    def test_y(star): ...           # (lab, {"a": Link, "b": Link}) on switch sw / br0

Tests using them must be marked @pytest.mark.netns (which makes them slow).
"""

import os

import pytest

from fastvrrp.bench.lab import Lab


def require_root():
    if os.geteuid() != 0:
        pytest.skip("network-namespace labs need root")


@pytest.fixture
def lab(request):
    require_root()
    made = Lab()
    request.addfinalizer(made.close)
    return made


@pytest.fixture
def star(lab):
    links = lab.star(("a", "b"))
    return lab, {node: node_links[0] for node, node_links in links.items()}
