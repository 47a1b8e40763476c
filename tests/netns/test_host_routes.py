"""Routes over real netlink in a lab namespace (reference §2.3, §3.1, §3.14, §3.17).

The code under test runs with the test thread inside node "a" of the lab, on
uvloop; every option is read back from the kernel with a route dump.
"""

import errno
import socket

import pytest
from pyroute2.netlink.rtnl import RTM_NEWROUTE

from fastvrrp.bench.keepalived_proc import Keepalived
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.host.netlink import ABSENT, DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.nlrequest import collect
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.routes import (Nexthop, RouteMsg, RouteSet, RouteSpec, add_route,
                                  cleanup_stale_routes)
from fastvrrp.host.rules import RuleSet, RuleSpec

from hostlab import dump_rules, remove_only_ours, run_in, spare_link

pytestmark = pytest.mark.netns


async def dump_routes():
    """Every route of every table, decoded with RouteMsg (it knows all the metrics)."""
    ipr = IPRoute()
    ipr.marshal.msg_map[RTM_NEWROUTE] = RouteMsg
    try:
        return await collect(await ipr.route("dump"))
    finally:
        ipr.close()


def table_of(msg):
    return msg.get_attr("RTA_TABLE") or msg["table"]


def find(routes, dst, dst_len, table=254):
    out = [r for r in routes
           if (r.get_attr("RTA_DST") or ("0.0.0.0" if r["family"] == socket.AF_INET else "::"))
           == dst and r["dst_len"] == dst_len and table_of(r) == table]
    return out


def one(routes, dst, dst_len, table=254):
    found = find(routes, dst, dst_len, table)
    assert len(found) == 1, (dst, dst_len, table, found)
    return found[0]


def metrics(msg):
    m = msg.get_attr("RTA_METRICS")
    return dict(m["attrs"]) if m else {}


EVERY_OPTION = (
    RouteSpec("192.168.50.0/24", via="10.0.0.2", dev="eth0", metric=77, src="10.0.0.1",
              mtu=1400, advmss=1360, window=65535, rtt=100, rttvar=50, rto_min=20,
              ssthresh=20, cwnd=10, reordering=3, hoplimit=60, initcwnd=20, initrwnd=30,
              quickack=1, fastopen_no_cookie=1, features={"ecn"}, congctl="cubic",
              lock={"mtu", "rtt"}),
    RouteSpec("192.168.51.0/24", dev="eth0", table=1000, scope="link", realms="1/2",
              tos="0x10"),
    RouteSpec("192.168.52.0/24", type="blackhole"),
    RouteSpec("192.168.53.0/24", type="unreachable", table="default"),
    RouteSpec("192.168.54.0/24", type="prohibit", metric=9),
    RouteSpec("192.168.55.0/24", type="throw", table=100),
    RouteSpec("192.168.56.0/24", nexthops=(Nexthop("10.0.0.2", dev="eth0", weight=3),
                                           Nexthop("10.0.0.3", dev="eth0"))),
    RouteSpec("192.168.57.0/24", via="172.16.0.1", dev="eth0", onlink=True),
    RouteSpec("192.168.58.0/24", dev="eth0", protocol="static"),
    RouteSpec("default", via="10.0.0.2", table=200),
    RouteSpec("fd55::/64", via="fd00::2", dev="eth0", metric=5, pref="high", expires=300),
    RouteSpec("fd56::/64", from_="fd00:1::/48", dev="eth0"),
    RouteSpec("fd57::/64", type="unreachable"),
)


def test_add_every_option_and_read_it_back(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with Netlink() as nl:
            routes = RouteSet(nl, EVERY_OPTION, name="VI_1")
            outcomes = await routes.add_all()
            got = await dump_routes()
            again = await routes.add_all()
            return outcomes, got, again, routes.added

    outcomes, got, again, added = run_in(a.ns, main)
    assert [o.status for o in outcomes] == [DONE] * len(EVERY_OPTION), [str(o) for o in outcomes]
    assert again == [] and len(added) == len(EVERY_OPTION)

    r = one(got, "192.168.50.0", 24)
    assert r["proto"] == 18 and r["scope"] == 0 and r["type"] == 1       # keepalived defaults
    assert r.get_attr("RTA_GATEWAY") == "10.0.0.2" and r.get_attr("RTA_OIF") == a.ifindex
    assert r.get_attr("RTA_PRIORITY") == 77 and r.get_attr("RTA_PREFSRC") == "10.0.0.1"
    m = metrics(r)
    assert m["RTAX_MTU"] == 1400 and m["RTAX_ADVMSS"] == 1360 and m["RTAX_WINDOW"] == 65535
    assert m["RTAX_RTT"] == 800 and m["RTAX_RTTVAR"] == 200 and m["RTAX_RTO_MIN"] == 20
    assert m["RTAX_SSTHRESH"] == 20 and m["RTAX_CWND"] == 10 and m["RTAX_REORDERING"] == 3
    assert m["RTAX_HOPLIMIT"] == 60 and m["RTAX_INITCWND"] == 20 and m["RTAX_INITRWND"] == 30
    assert m["RTAX_QUICKACK"] == 1 and m["RTAX_FASTOPEN_NO_COOKIE"] == 1
    assert m["RTAX_FEATURES"] & 1 and m["RTAX_CC_ALGO"] == "cubic"
    assert m["RTAX_LOCK"] == (1 << 2) | (1 << 4)

    r = one(got, "192.168.51.0", 24, table=1000)
    assert r["scope"] == 253 and r["tos"] == 0x10
    assert r.get_attr("RTA_FLOW") == (1 << 16) | 2
    assert one(got, "192.168.52.0", 24)["type"] == 6
    assert one(got, "192.168.53.0", 24, table=253)["type"] == 7
    r = one(got, "192.168.54.0", 24)
    assert r["type"] == 8 and r.get_attr("RTA_PRIORITY") == 9
    assert one(got, "192.168.55.0", 24, table=100)["type"] == 9
    hops = one(got, "192.168.56.0", 24).get_attr("RTA_MULTIPATH")
    assert sorted((dict(h["attrs"])["RTA_GATEWAY"], h["hops"]) for h in hops) == \
        [("10.0.0.2", 2), ("10.0.0.3", 0)]
    r = one(got, "192.168.57.0", 24)
    assert r["flags"] & 4 and r.get_attr("RTA_GATEWAY") == "172.16.0.1"     # onlink
    assert one(got, "192.168.58.0", 24)["proto"] == 4
    assert one(got, "0.0.0.0", 0, table=200).get_attr("RTA_GATEWAY") == "10.0.0.2"
    r = one(got, "fd55::", 64)
    assert r["proto"] == 18 and r.get_attr("RTA_PRIORITY") == 5 and r.get_attr("RTA_PREF") == 1
    assert 0 < r.get_attr("RTA_CACHEINFO")["rta_expires"] <= 300 * 100     # centiseconds
    r = one(got, "fd56::", 64)
    assert r.get_attr("RTA_SRC") == "fd00:1::" and r["src_len"] == 48
    assert one(got, "fd57::", 64)["type"] == 7


def test_remove_only_ours_and_absent_is_not_an_error(star):
    lab, links = star
    a = links["a"]
    admin_same = RouteSpec("192.168.60.0/24", via="10.0.0.2", dev="eth0")     # proto 18 too
    admin_other = RouteSpec("192.168.61.0/24", via="10.0.0.3", dev="eth0", protocol="boot")
    mine = (admin_same, RouteSpec("192.168.61.0/24", via="10.0.0.2", dev="eth0"),
            RouteSpec("fd61::/64", via="fd00::2", dev="eth0"))

    async def main():
        async with Netlink() as nl:
            for spec in (admin_same, admin_other):
                assert (await add_route(nl, spec.to_netlink({"eth0": a.ifindex}))).changed
            return await remove_only_ours(RouteSet(nl, mine, name="VI_1"), mine, dump_routes)

    added, held, removed, after_remove, removed_again, forced, after_force = run_in(a.ns, main)
    assert [o.status for o in added] == [EXISTS, DONE, DONE] and all(o.ok for o in added)
    assert held == [False, True, True]
    assert [o.status for o in removed] == [DONE, DONE]
    assert len(find(after_remove, "192.168.60.0", 24)) == 1            # not ours: stays
    gws = [r.get_attr("RTA_GATEWAY") for r in find(after_remove, "192.168.61.0", 24)]
    assert gws == ["10.0.0.3"]                                        # the admin's, proto boot
    assert find(after_remove, "fd61::", 64) == []
    assert removed_again == []
    # force (-X, start-up): every configured route of protocol 18; ours are gone already
    assert [o.status for o in forced] == [DONE, ABSENT, ABSENT]
    assert find(after_force, "192.168.60.0", 24) == []
    assert len(find(after_force, "192.168.61.0", 24)) == 1             # proto boot is never ours
    assert all(o.errno in (0, errno.ESRCH) for o in forced)


def test_kernel_refusals_and_vanished_interfaces_are_outcomes(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with spare_link() as (ipr, nl, vx0):
            await ipr.link("set", index=vx0.index, state="up")
            by_name = RouteSet(nl, [RouteSpec("192.168.70.0/24", dev="vx0")], name="VI_2")
            unreachable_gw = RouteSet(nl, [RouteSpec("192.168.71.0/24", via="172.31.0.1",
                                                     dev="eth0")], name="VI_3")
            first = await by_name.add_all() + await unreachable_gw.add_all()
            await ipr.link("del", index=vx0.index)
            removed = await by_name.remove_all()
            readd = await by_name.add_all()
            missing = await RouteSet(nl, [RouteSpec("10.9.0.0/16", dev="nosuch0")]).add_all()
            return first, removed, readd, missing, by_name.added

    first, removed, readd, missing, still = run_in(a.ns, main)
    assert first[0].status == DONE
    assert first[1].status == FAILED and first[1].errno == errno.ENETUNREACH
    assert "192.168.71.0/24" in str(first[1])
    assert [o.status for o in removed] == [ABSENT]       # the route went with its interface
    assert [o.status for o in readd] == [FAILED] and readd[0].errno == errno.ENODEV
    assert "vx0" in readd[0].error
    assert [o.status for o in missing] == [FAILED] and "nosuch0" in missing[0].error
    assert still == ()


def test_crash_leftovers_are_removed_at_start(star):
    lab, links = star
    a = links["a"]
    specs = (RouteSpec("192.168.80.0/24", via="10.0.0.2", dev="eth0", metric=3),
             RouteSpec("fd80::/64", dev="eth0"),
             RouteSpec("192.168.81.0/24", dev="gone0"))          # no such interface: skipped

    async def main():
        async with Netlink() as nl:
            crashed = RouteSet(nl, specs[:2], name="VI_1")
            await crashed.add_all()
            del crashed                                         # kill -9: no state survives
            before = await dump_routes()
            first = await cleanup_stale_routes(nl, specs, name="VI_1")
            second = await cleanup_stale_routes(nl, specs, name="VI_1")
            after = await dump_routes()
            return before, first, second, after

    before, first, second, after = run_in(a.ns, main)
    assert find(before, "192.168.80.0", 24) and find(before, "fd80::", 64)
    assert [o.status for o in first] == [DONE, DONE]
    assert [o.status for o in second] == [ABSENT, ABSENT]
    assert not find(after, "192.168.80.0", 24) and not find(after, "fd80::", 64)


def test_reload_keeps_unchanged_routes_and_diffs_the_rest(star):
    lab, links = star
    a = links["a"]
    keep = RouteSpec("192.168.90.0/24", via="10.0.0.2", dev="eth0")
    drop = RouteSpec("192.168.91.0/24", via="10.0.0.2", dev="eth0")
    new = RouteSpec("192.168.92.0/24", via="10.0.0.2", dev="eth0")

    async def main():
        async with Netlink() as nl:
            routes = RouteSet(nl, [keep, drop], name="VI_1")
            await routes.add_all()
            kept_before = routes.added[0]
            dropped = await routes.update([keep, new])
            added = await routes.add_all()
            return kept_before, routes.added, dropped, added, await dump_routes()

    kept_before, held, dropped, added, got = run_in(a.ns, main)
    assert [o.request.attr("RTA_DST") for o in dropped] == ["192.168.91.0"]
    assert [o.request.attr("RTA_DST") for o in added] == ["192.168.92.0"]   # keep not re-added
    assert held[0] is kept_before
    assert find(got, "192.168.90.0", 24) and find(got, "192.168.92.0", 24)
    assert not find(got, "192.168.91.0", 24)


# -- keepalived 2.2.7 side by side ---------------------------------------------------------
KEEPALIVED_CONF = """
global_defs { router_id routes }
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
  virtual_routes {
    192.168.50.0/24 via 10.0.0.9 dev eth0 metric 77 mtu lock 1400 rtt 300ms
    blackhole 192.168.52.0/24
    192.168.51.0/24 dev eth0 table 1000 scope link realms 1/2
    192.168.56.0/24 nexthop via 10.0.0.9 dev eth0 weight 3 nexthop via 10.0.0.10 dev eth0
    fd55::/64 via fd00::9 dev eth0 metric 5 pref high
  }
  virtual_rules {
    from 10.1.0.0/16 table 100 preference 100
    to 10.4.0.0/16 blackhole preference 103
    fwmark 0x10/0xff table 100 preference 110
    from 10.9.0.0/16 table 9
    from fd00:1::/48 table 100 preference 100
  }
}
"""

# Gateways are on the link but neither node's own address (IPv6 refuses a local gateway).
OUR_ROUTES = (
    RouteSpec("192.168.50.0/24", via="10.0.0.9", dev="eth0", metric=77, mtu=1400, rtt=300,
              lock={"mtu"}),
    RouteSpec("192.168.52.0/24", type="blackhole"),
    RouteSpec("192.168.51.0/24", dev="eth0", table=1000, scope="link", realms="1/2"),
    RouteSpec("192.168.56.0/24", dev="eth0", nexthops=(Nexthop("10.0.0.9", weight=3),
                                                       Nexthop("10.0.0.10"))),
    RouteSpec("fd55::/64", via="fd00::9", dev="eth0", metric=5, pref="high"),
)


def _route_view(msg):
    hops = msg.get_attr("RTA_MULTIPATH") or []
    return (msg["family"], msg.get_attr("RTA_DST"), msg["dst_len"], table_of(msg), msg["proto"],
            msg["scope"], msg["type"], msg["flags"], msg.get_attr("RTA_GATEWAY"),
            msg.get_attr("RTA_OIF"), msg.get_attr("RTA_PRIORITY"), msg.get_attr("RTA_FLOW"),
            msg.get_attr("RTA_PREF"), tuple(sorted(metrics(msg).items())),
            tuple(sorted((dict(h["attrs"]).get("RTA_GATEWAY"), h["hops"], h["flags"], h["oif"])
                         for h in hops)))


def _rule_view(msg):
    return tuple(sorted((k, str(v)) for k, v in msg["attrs"])) + (
        msg["family"], msg["table"], msg["action"], msg["flags"], msg["tos"], msg["src_len"],
        msg["dst_len"])


def _state(ns, prefixes):
    async def main():
        routes = [_route_view(r) for r in await dump_routes()
                  if (r.get_attr("RTA_DST") or "").startswith(prefixes)]
        rules = [_rule_view(r) for r in await dump_rules() if r.get_attr("FRA_PROTOCOL") == 18]
        return sorted(routes, key=repr), sorted(rules, key=repr)

    return run_in(ns, main)


@pytest.mark.interop
def test_same_routes_and_rules_as_keepalived(lab):
    links = lab.star(("a", "b"))
    a, b = links["a"][0], links["b"][0]
    assert a.ifindex == b.ifindex                    # same ifindexes: RTA_OIF comparable
    prefixes = ("192.168.5", "fd55:")
    ka = Keepalived(lab, "a", KEEPALIVED_CONF, name="routes").start()
    try:
        theirs = wait_for(lambda: (lambda s: s if len(s[0]) == 5 and len(s[1]) == 5 else None)(
            _state(a.ns, prefixes)), 20, what="keepalived's virtual routes and rules")
    finally:
        ka.stop()
    our_rules = (RuleSpec(from_="10.1.0.0/16", table=100, preference=100),
                 RuleSpec(to="10.4.0.0/16", type="blackhole", preference=103),
                 RuleSpec(fwmark="0x10/0xff", table=100, preference=110),
                 RuleSpec(from_="10.9.0.0/16", table=9),
                 RuleSpec(from_="fd00:1::/48", table=100, preference=100))

    async def ours_up():
        async with Netlink() as nl:
            outcomes = await RouteSet(nl, OUR_ROUTES).add_all()
            outcomes += await RuleSet(nl, our_rules).add_all()
            assert all(o.status == DONE for o in outcomes), [str(o) for o in outcomes]

    run_in(b.ns, ours_up)
    ours = _state(b.ns, prefixes)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
