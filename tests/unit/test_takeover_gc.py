"""Issue 6 takeover: no automatic garbage collection inside a burst of
transitions; it is back once the burst's deferred work runs."""

import asyncio
import gc
import logging

import pytest

from fastvrrp.config import loads
from fastvrrp.daemon.engine import Engine
from fastvrrp.host.afterbatch import IMMEDIATE
from fastvrrp.vrrp import Log

CONF = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
}
"""


@pytest.fixture
def gc_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()
    else:
        gc.enable()


def run_burst(engine, n):
    """n machine action batches in one loop iteration -> gc state after each."""
    states = []
    for k in range(n):
        engine._on_actions(k, 0, [Log(logging.INFO, "(VI_%d) Entering MASTER STATE" % k)])
        states.append(gc.isenabled())
    return states


def test_a_burst_turns_automatic_collection_off_until_its_work_ran(gc_enabled, caplog):
    config, _ = loads(CONF)
    engine = Engine(config)

    immediate = engine.after.immediate      # the engine defers every line (0) or a few

    async def main():
        states = run_burst(engine, immediate + 5)
        during = gc.isenabled()
        engine.after.flush()                    # what runs once the host work is out
        return states, during

    with caplog.at_level(logging.INFO, logger="fastvrrp.vrrp"):
        states, during = asyncio.run(main())
    assert states[:immediate] == [True] * immediate       # not deferred: untouched
    assert states[immediate:] == [False] * 5
    assert during is False
    assert gc.isenabled()
    lines = [r.getMessage() for r in caplog.records if r.name == "fastvrrp.vrrp"]
    assert lines == ["(VI_%d) Entering MASTER STATE" % k for k in range(immediate + 5)]


def test_collection_off_before_the_burst_stays_off(gc_enabled):
    config, _ = loads(CONF)
    engine = Engine(config)

    async def main():
        gc.disable()                            # e.g. the process shell's start-up
        run_burst(engine, IMMEDIATE + 3)
        engine.after.flush()
        return gc.isenabled()

    assert asyncio.run(main()) is False


def test_a_sync_groups_line_runs_in_its_turn_while_member_lines_keep_coming(monkeypatch):
    """The group's line waits behind the member lines queued before it, and
    runs in its turn: lines queued after it (a steady stream) do not push it back."""
    import fastvrrp.daemon.engine as engine_mod
    config, _ = loads(CONF)
    engine = Engine(config)
    order = []
    monkeypatch.setattr(engine_mod.vrrp_log, "log", lambda level, fmt, text: order.append(text))
    line = "VRRP_Group(G1) Syncing instances to MASTER state"

    def member(k):
        order.append("member %d" % k)
        if k < 30:                              # the stream goes on behind it
            engine.after.add(member, k + 1)

    async def main():
        engine.after.add(member, 0)            # a member's line is queued first
        engine._route([(None, Log(logging.INFO, line))])
        assert order == []                      # nothing before the member's line
        for _ in range(2000):
            if not engine.after.pending:
                break
            await asyncio.sleep(0.001)

    asyncio.run(main())
    assert order.count(line) == 1
    assert order.index(line) < order.index("member 3"), order[:6]
