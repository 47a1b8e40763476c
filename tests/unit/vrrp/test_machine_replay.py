"""JSONL replay scenarios (tests/data/vrrp/*.jsonl): one event per line with
its exact expected actions, in the style of holo's conformance tests."""

import pytest

from vrrp_harness import DATA, replay

SCENARIOS = sorted(DATA.glob("*.jsonl"))


def test_scenarios_exist():
    assert len(SCENARIOS) >= 2


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_replay(path):
    assert replay(path) > 5
