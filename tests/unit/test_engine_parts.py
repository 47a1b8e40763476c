"""The engine's pure parts: reload diff (keepalived-vrrp.md §3.17), source choice
(RFC 5798 §5.1.1.1 / §5.1.2.1), the per-instance host queue's ordering, and
the dump formats (§3.18-§3.19)."""

import asyncio
import io
import json
import socket

import pytest

from fastvrrp.config import loads
from fastvrrp.daemon import convert, engine_dumps
from fastvrrp.daemon.engine_reload import diff
from fastvrrp.daemon.engine_sources import pick_source
from fastvrrp.daemon.instance import HostQueue
from fastvrrp.host.objects import AddrInfo
from fastvrrp.vrrp import VrrpMachine

CONF = """
vrrp_instance %(name)s {
    interface eth0
    virtual_router_id %(vrid)d
    priority %(prio)d
    advert_int 1
    virtual_ipaddress {
        %(vip)s
    }
}
"""


def _plan(name="VI_1", vrid=51, prio=100, vip="10.0.0.100/24"):
    config, _ = loads(CONF % dict(name=name, vrid=vrid, prio=prio, vip=vip))
    return convert.plan_instance(config.instances[0], config.global_defs)


# -- reload ------------------------------------------------------------------------------
def test_reload_diff_matches_by_identity_not_by_name():
    old = [_plan("VI_1", 51), _plan("VI_2", 52), _plan("VI_3", 53)]
    new = [_plan("VI_1", 51),                   # unchanged: kept
           _plan("VI_2", 52, prio=120),         # same identity, new priority: restarted
           _plan("VI_4", 54)]                   # new
    d = diff(old, new)
    assert [(o.name, n.name) for o, n in d.kept] == [("VI_1", "VI_1")]
    assert [(o.name, n.name) for o, n in d.restarted] == [("VI_2", "VI_2")]
    assert [n.name for n in d.added] == ["VI_4"]
    assert [o.name for o in d.removed] == ["VI_3"]
    assert d.summary() == "1 kept, 1 restarted, 1 added, 1 removed"


def test_reload_diff_renamed_instance_is_the_same_identity():
    d = diff([_plan("VI_1", 51)], [_plan("renamed", 51)])
    assert not d.added and not d.removed
    assert [(o.name, n.name) for o, n in d.restarted] == [("VI_1", "renamed")]


def test_reload_diff_vrid_change_is_a_new_instance():
    d = diff([_plan("VI_1", 51)], [_plan("VI_1", 61)])
    assert [n.name for n in d.added] == ["VI_1"] and [o.name for o in d.removed] == ["VI_1"]


# -- source address -------------------------------------------------------------------------
def _addr(address, family=socket.AF_INET, flags=0, plen=24):
    return AddrInfo(family=family, index=2, address=address, prefixlen=plen, scope=0, flags=flags)


def test_source_is_the_first_primary_ipv4_address_that_is_not_a_vip():
    import ipaddress
    secondary = 0x01
    addrs = [_addr("10.0.0.100", plen=32), _addr("10.0.0.5", flags=secondary), _addr("10.0.0.1"),
             _addr("fe80::1", socket.AF_INET6, plen=64)]
    vips = {ipaddress.ip_address("10.0.0.100")}
    assert pick_source(addrs, 4, vips) == "10.0.0.1"
    assert pick_source(addrs, 4, set()) == "10.0.0.100"
    assert pick_source(addrs[:2], 4, vips) is None        # keepalived: FAULT, no address


def test_ipv6_source_is_a_usable_link_local():
    tentative = 0x40
    addrs = [_addr("fd00::1", socket.AF_INET6, plen=64),
             _addr("fe80::2", socket.AF_INET6, flags=tentative, plen=64),
             _addr("fe80::3", socket.AF_INET6, plen=64)]
    assert pick_source(addrs, 6, set()) == "fe80::3"
    assert pick_source(addrs[:2], 6, set()) is None


# -- host queue -------------------------------------------------------------------------------
def test_host_queue_runs_jobs_in_order_and_survives_a_failing_one():
    seen = []

    async def job(name, delay):
        await asyncio.sleep(delay)
        seen.append(name)

    async def bad():
        raise OSError("netlink said no")

    async def main():
        q = HostQueue("VI_1")
        q.submit(lambda: job("add", 0.02))     # slow add ...
        q.submit(bad)
        q.submit(lambda: job("remove", 0))     # ... a fast remove must not overtake it
        assert q.pending == 3
        await q.drain()
        q.submit(lambda: job("again", 0))
        await q.drain()
        return q
    q = asyncio.run(main())
    assert seen == ["add", "remove", "again"]
    assert (q.done, q.failed, q.pending) == (3, 1, 0)


def test_host_queue_rejects_what_is_not_a_job():
    async def main():
        with pytest.raises(TypeError, match="coroutine function"):
            HostQueue("x").submit("add")
    asyncio.run(main())


# -- dumps ----------------------------------------------------------------------------------
def _view(counters=None):
    plan = _plan()
    import dataclasses
    import ipaddress
    params = dataclasses.replace(plan.params, primary_address=ipaddress.ip_address("10.0.0.1"))
    machine = VrrpMachine(params)
    return engine_dumps.InstanceView(
        plan=plan, machine=machine, counters=counters or {"advert_rcvd": 7, "become_master": 1},
        src="10.0.0.1", last_transition=1700000000.5, held_vips=("10.0.0.100/24 dev eth0",),
        faults=(), trackers=())


def test_stats_dump_has_keepalived_blocks():
    fp = io.StringIO()
    engine_dumps.write_stats(fp, [_view()])
    text = fp.getvalue()
    assert text.startswith("VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n"
                           "    Sent: 0\n  Became master: 1\n  Released master: 0\n"
                           "  Packet Errors:\n    Length: 0\n")
    assert text.endswith("  Priority Zero:\n    Received: 0\n    Sent: 0\n")


def test_json_dump_is_one_compact_line_with_keepalived_fields():
    fp = io.StringIO()
    engine_dumps.write_json(fp, [_view()])
    line = fp.getvalue()
    assert line.count("\n") == 1 and ": " not in line
    (rec,) = json.loads(line)
    assert rec["data"]["iname"] == "VI_1" and rec["data"]["state"] == 0     # INIT
    assert rec["data"]["vips"] == ["10.0.0.100/24 dev eth0 scope global set"]
    assert rec["data"]["vipset"] is True
    assert rec["stats"]["advert_rcvd"] == 7 and len(rec["stats"]) == 14


def test_data_dump_lists_the_instance():
    config, _ = loads(CONF % dict(name="VI_1", vrid=51, prio=100, vip="10.0.0.100/24"))
    fp = io.StringIO()
    engine_dumps.write_data(fp, [_view()], config)
    text = fp.getvalue()
    assert "------< VRRP Topology >------\n VRRP Instance = VI_1\n" in text
    assert "   Virtual Router ID = 51\n" in text and "   Using src_ip = 10.0.0.1\n" in text
    assert "     10.0.0.100/24 dev eth0 scope global set\n" in text


def test_stats_dump_carries_the_fast_path_counters():
    import io
    import re

    from fastvrrp._fastpath import FastPath
    from fastvrrp.daemon.engine_dumps import write_fastpath_stats

    fp = FastPath()
    out = io.StringIO()
    write_fastpath_stats(out, dict(fp.stats(), python_escalations=7, drops={"ttl": 2}))
    text = out.getvalue()
    assert text.startswith("Fast path:\n")
    # the pattern `fastvrrp bench` reads (fastvrrp/bench/e2e_lab.py)
    assert re.search(r"python_escalations\D{0,8}(\d+)", text).group(1) == "7"
    assert "    ttl: 2\n" in text


@pytest.mark.parametrize("kind", ["data", "stats", "json"])
def test_chunked_dump_is_the_one_shot_text_and_lets_the_loop_turn(kind):
    """engine_dumps.render gives the very text of the one-shot writers, and
    callbacks queued meanwhile run between its chunks (the fast path keeps
    sending while thousands of instances are read)."""
    config, _ = loads(CONF % dict(name="VI_1", vrid=51, prio=100, vip="10.0.0.100/24"))
    views = [_view({"advert_rcvd": n, "become_master": n % 3}) for n in range(10)]
    stats = {"python_escalations": 3}
    one_shot = io.StringIO()
    if kind == "data":
        engine_dumps.write_data(one_shot, views, config)
    elif kind == "stats":
        engine_dumps.write_stats(one_shot, views)
        engine_dumps.write_fastpath_stats(one_shot, stats)
    else:
        engine_dumps.write_json(one_shot, views)
    turns = []

    async def main():
        read = []

        def view_of(view):
            read.append(view)
            return view

        def ticker():                      # one per loop turn, like the fast path's tick
            turns.append(len(read))
            if len(read) < len(views):
                loop.call_soon(ticker)
        loop = asyncio.get_running_loop()
        loop.call_soon(ticker)
        return await engine_dumps.render(kind, views, view_of, config=config,
                                         fastpath_stats=stats, chunk=3)
    assert asyncio.run(main()) == one_shot.getvalue()
    assert {3, 6, 9} <= set(turns), turns          # the loop turned after each chunk


def test_chunked_dump_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown dump kind"):
        asyncio.run(engine_dumps.render("everything", [], lambda v: v))
