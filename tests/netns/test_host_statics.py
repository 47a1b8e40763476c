"""static_ipaddress / static_routes / static_rules over real netlink (reference §3.1, §3.14, §3.17)."""

import ipaddress
import socket

import pytest

from fastvrrp.host.addrspec import VipSpec
from fastvrrp.host.netlink import ABSENT, DONE, Netlink
from fastvrrp.host.nlrequest import collect
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.routes import RouteSpec, add_route
from fastvrrp.host.rules import RuleSpec, add_rule
from fastvrrp.host.statics import Statics

from hostlab import run_in

pytestmark = pytest.mark.netns


async def host_state(ifindex):
    """(addresses on ifindex, IPv4 main-table route destinations, IPv4 rule preferences)."""
    ipr = IPRoute()
    try:
        async with Netlink() as nl:
            addrs = {ipaddress.ip_address(a.address) for a in await nl.addresses(ifindex)}
        routes = {(r.get_attr("RTA_DST"), r["dst_len"], r["proto"])
                  for r in await collect(await ipr.route("dump", family=socket.AF_INET))
                  if r["table"] == 254}
        rules = {(r.get_attr("FRA_PRIORITY"), r["table"])
                 for r in await collect(await ipr.rule("dump", family=socket.AF_INET))}
        return addrs, routes, rules
    finally:
        ipr.close()


ADDR = VipSpec("10.0.0.50/32", ifname="eth0")
ADDR6 = VipSpec("fd00::50/64", ifname="eth0")
ROUTE = RouteSpec("192.168.100.0/24", via="10.0.0.2", dev="eth0")
ROUTE_FROM_STATIC = RouteSpec("192.168.101.0/24", dev="eth0", src="10.0.0.50")  # needs ADDR
RULE = RuleSpec(from_="10.0.0.50/32", table=100, preference=500)


def test_start_replaces_leftovers_and_stop_removes_what_it_added(star):
    lab, links = star
    a = links["a"]
    admin_route = RouteSpec("192.168.102.0/24", via="10.0.0.2", dev="eth0", protocol="boot")
    admin_rule = RuleSpec(from_="10.9.9.0/24", table=9, preference=900, protocol=None)

    async def main():
        async with Netlink() as nl:
            # leftovers of a crashed run, and an administrator's own entries
            assert (await nl.add_address(ADDR.to_netlink(a.ifindex, proto=None))).changed
            assert (await add_route(nl, ROUTE.to_netlink({"eth0": a.ifindex}))).changed
            assert (await add_rule(nl, RULE.to_netlink())).changed
            assert (await add_route(nl, admin_route.to_netlink({"eth0": a.ifindex}))).changed
            assert (await add_rule(nl, admin_rule.to_netlink())).changed
            statics = Statics(nl, [ADDR, ADDR6], [ROUTE, ROUTE_FROM_STATIC], [RULE])
            early_stop = await Statics(nl, [ADDR]).stop()        # never started: nothing held
            started = await statics.start()
            held = [statics.holds(s) for s in (ADDR, ADDR6, ROUTE, ROUTE_FROM_STATIC, RULE)]
            during = await host_state(a.ifindex)
            stopped = await statics.stop()
            after = await host_state(a.ifindex)
            return early_stop, started, held, during, stopped, after

    early_stop, started, held, during, stopped, after = run_in(a.ns, main)
    assert early_stop == []
    deletes = [o for o in started if o.op == "del"]
    adds = [o for o in started if o.op == "add"]
    # every leftover deleted first (absent ones are no error), then everything added
    assert [o.status for o in deletes] == [DONE, ABSENT, DONE, ABSENT, DONE]
    assert [o.status for o in adds] == [DONE] * 5
    assert started.index(adds[0]) == len(deletes)                   # deletes come first
    assert [type(o.request).__name__ for o in adds] == \
        ["IfaRequest", "IfaRequest", "RouteRequest", "RouteRequest", "RuleRequest"]
    assert held == [True] * 5                                       # ours now, leftovers too
    addrs, routes, rules = during
    assert {ipaddress.ip_address("10.0.0.50"), ipaddress.ip_address("fd00::50")} <= addrs
    assert {("192.168.100.0", 24, 18), ("192.168.101.0", 24, 18), ("192.168.102.0", 24, 3)} \
        <= routes
    assert {(500, 100), (900, 9)} <= rules
    assert [type(o.request).__name__ for o in stopped] == \
        ["RuleRequest", "RouteRequest", "RouteRequest", "IfaRequest", "IfaRequest"]
    assert all(o.status == DONE for o in stopped), [str(o) for o in stopped]
    addrs, routes, rules = after
    assert not {ipaddress.ip_address("10.0.0.50"), ipaddress.ip_address("fd00::50")} & addrs
    assert ipaddress.ip_address("10.0.0.1") in addrs                # the node's own address
    assert ("192.168.102.0", 24, 3) in routes and (900, 9) in rules    # the admin's stay
    assert not {r for r in routes if r[0] in ("192.168.100.0", "192.168.101.0")}
    assert (500, 100) not in rules


def test_reload_diffs_the_static_entries(star):
    lab, links = star
    a = links["a"]
    addr2 = VipSpec("10.0.0.51/32", ifname="eth0")
    route2 = RouteSpec("192.168.103.0/24", via="10.0.0.2", dev="eth0")
    rule2 = RuleSpec(from_="10.0.0.51/32", table=101, preference=501)

    async def main():
        async with Netlink() as nl:
            statics = Statics(nl, [ADDR], [ROUTE], [RULE])
            await statics.start()
            route_before = statics.routes.added[0]
            reloaded = await statics.reload([addr2], [ROUTE, route2], [rule2])
            state = await host_state(a.ifindex)
            return route_before, statics.routes.added, reloaded, state, \
                [statics.holds(s) for s in (ADDR, addr2, ROUTE, route2, RULE, rule2)]

    route_before, routes_held, reloaded, state, held = run_in(a.ns, main)
    removed = sorted(type(o.request).__name__ for o in reloaded if o.op == "del")
    added = sorted(type(o.request).__name__ for o in reloaded if o.op == "add")
    assert removed == ["IfaRequest", "RuleRequest"]                 # ROUTE is not flapped
    assert added == ["IfaRequest", "RouteRequest", "RuleRequest"]
    assert all(o.status == DONE for o in reloaded)
    assert routes_held[0] is route_before
    assert held == [False, True, True, True, False, True]
    addrs, routes, rules = state
    assert ipaddress.ip_address("10.0.0.51") in addrs
    assert ipaddress.ip_address("10.0.0.50") not in addrs
    assert {("192.168.100.0", 24, 18), ("192.168.103.0", 24, 18)} <= routes
    assert (501, 101) in rules and (500, 100) not in rules


def test_bad_entries_are_refused_up_front():
    with pytest.raises(TypeError, match="VipSpec"):
        Statics(None, ["10.0.0.50/32"])
    with pytest.raises(TypeError, match="RouteSpec"):
        Statics(None, [], [RULE])
    with pytest.raises(TypeError, match="RuleSpec"):
        Statics(None, [], [], [ROUTE])
