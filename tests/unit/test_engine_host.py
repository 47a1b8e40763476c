"""engine_host / convert: the model's routes, rules, static addresses and VMACs as host specs."""

import ipaddress

import pytest

from fastvrrp.config import loads
from fastvrrp.daemon import convert, engine_host
from fastvrrp.host.routespec import Nexthop
from fastvrrp.host.rules import PreferenceAllocator

INSTANCE = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
%s
    virtual_ipaddress {
        10.0.0.100/24
        10.0.0.101/24 dev eth1
    }
}
"""


def _load(text):
    config, diags = loads(text)
    # keepalived's warnings for `or`, untracked routes and unnumbered rules are errors
    # of the config reader that do not stop the entry
    errors = [str(d) for d in diags.errors
              if d.code not in ("deprecated", "untracked-route", "rule-preference")]
    assert not errors, errors
    return config


def _plan(extra="", head=""):
    config = _load(head + INSTANCE % extra)
    return convert.plan_instance(config.instances[0], config.global_defs)


def _routes(lines):
    body = "\n".join("        " + line for line in lines)
    return _plan("    virtual_routes {\n%s\n    }" % body).routes


def test_route_options_map_to_the_host_spec():
    (route,) = _routes(["10.9.0.0/16 via 10.0.0.254 dev eth0 table 100 metric 5 "
                        "src 10.0.0.100 mtu lock 1400"])
    assert route.to == ipaddress.ip_network("10.9.0.0/16")
    assert str(route.via) == "10.0.0.254" and route.dev == "eth0"
    assert (route.table, route.metric, route.mtu, route.lock) == (100, 5, 1400, {"mtu"})
    assert str(route.src) == "10.0.0.100" and route.protocol == 18


@pytest.mark.parametrize("text,ms", [("800", 100), ("10ms", 10), ("2s", 2000)])
def test_rtt_bare_numbers_are_kernel_units(text, ms):
    # keepalived get_time_rtt: a bare rtt is in 1/8 ms, with a unit it is a time
    (route,) = _routes(["10.9.0.0/16 via 10.0.0.254 dev eth0 rtt %s" % text])
    assert route.rtt == ms


def test_rttvar_bare_number_is_quarter_ms():
    (route,) = _routes(["10.9.0.0/16 via 10.0.0.254 dev eth0 rttvar 40"])
    assert route.rttvar == 10


def test_or_becomes_two_nexthops():
    (route,) = _routes(["10.8.0.0/16 via 10.0.0.253 or 10.0.0.252 dev eth0"])
    assert route.via is None
    assert route.nexthops == (Nexthop(via="10.0.0.253", dev="eth0"),
                              Nexthop(via="10.0.0.252", dev="eth0"))


def test_blackhole_route_keeps_its_type():
    (route,) = _routes(["blackhole 10.7.0.0/16 table 7 no_track"])
    assert route.type == "blackhole" and route.table == 7


def test_rules_keep_their_action_and_preference():
    plan = _plan("    virtual_rules {\n"
                 "        from 10.1.0.0/16 table 100 priority 10\n"
                 "        to 10.2.0.0/16 blackhole priority 11\n"
                 "        from 10.3.0.0/16 goto 100 priority 12\n"
                 "        from 10.4.0.0/16 nop priority 13\n"
                 "    }")
    first, second, third, fourth = plan.rules
    assert (first.table, first.preference) == (100, 10)
    assert second.type == "blackhole" and second.preference == 11
    assert third.goto == 100 and fourth.nop


def test_a_rule_without_preference_gets_keepalived_numbering():
    plan = _plan("    virtual_rules {\n        from 10.1.0.0/16 table 100\n    }")
    assert plan.rules[0].preference == 16384


def test_statics_use_default_interface_without_dev():
    config = _load("global_defs {\n    default_interface eth9\n}\n"
                   "static_ipaddress {\n    192.168.5.1/24\n    192.168.6.1/24 dev eth3\n}\n"
                   "static_routes {\n    10.5.0.0/16 via 192.168.5.254 dev eth9\n}\n"
                   "static_rules {\n    from 10.6.0.0/16 table 5 priority 50\n}\n"
                   + INSTANCE % "")
    specs = engine_host.statics_of(config, PreferenceAllocator())
    assert [s.ifname for s in specs.addresses] == ["eth9", "eth3"]
    assert [str(r.to) for r in specs.routes] == ["10.5.0.0/16"]
    assert [r.preference for r in specs.rules] == [50]
    assert specs and specs.ifnames() == {"eth9", "eth3"}
    assert not engine_host.StaticSpecs()


def test_use_vmac_puts_vips_without_dev_on_the_vmac():
    plan = _plan("    use_vmac")
    assert plan.vmac is not None and plan.vmac.base_ifname == "eth0"
    assert plan.vmac.vrid == 51 and not plan.vmac.xmit_base
    assert plan.vip_ifname == "vrrp.51"
    assert [s.ifname for s in plan.vips] == ["vrrp.51", "eth1"]
    assert plan.ifname == "eth0"                   # adverts are received on the base


def test_use_vmac_name_and_xmit_base():
    plan = _plan("    use_vmac vr51\n    vmac_xmit_base")
    assert plan.vip_ifname == "vr51" and plan.vmac.xmit_base
    assert plan.vips[0].ifname == "vr51"


def test_routes_and_vmac_are_part_of_the_restart_identity():
    base = _plan()
    assert base.core() == _plan().core()
    assert base.core() != _plan("    use_vmac").core()
    assert base.core() != _plan("    virtual_routes {\n        10.9.0.0/16 via 10.0.0.254 "
                                "dev eth0\n    }").core()


def test_use_ipvlan_is_a_clear_error():
    config = _load(INSTANCE % "    use_ipvlan")
    with pytest.raises(convert.ConvertError, match="use_ipvlan"):
        convert.plan_instance(config.instances[0], config.global_defs)


def test_bad_route_time_is_a_clear_error():
    class Route:
        dest = ipaddress.ip_network("10.9.0.0/16")
        metrics = (("rtt", "fast"),)
        vrf = None
    with pytest.raises(convert.ConvertError, match="rtt 'fast' is not a time"):
        engine_host.route_spec(Route(), "vrrp_instance VI_1")


def test_vrf_route_is_a_clear_error():
    class Route:
        dest = ipaddress.ip_network("10.9.0.0/16")
        metrics = ()
        vrf = "blue"
    with pytest.raises(convert.ConvertError, match="vrf blue is not supported"):
        engine_host.route_spec(Route(), "static_routes")


def test_the_vmac_is_tracked_as_the_instance_interface():
    from fastvrrp.track.aggregate import Kind
    plan = engine_host.track_vmac(_plan("    use_vmac"))
    tracked = {(t.kind, t.name, t.weight) for t in plan.trackers}
    assert (Kind.INTERFACE, "vrrp.51", 0) in tracked
    assert (Kind.INTERFACE, "eth0", 0) in tracked
    plain = _plan()
    assert engine_host.track_vmac(plain) is plain
