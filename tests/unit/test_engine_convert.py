"""The config model -> the engine's InstancePlans (fastvrrp.daemon.convert).

RFC 5798 §5.2 fields (VRID, priority, Advertisement Interval in centiseconds),
RFC 3768 §5.3.6 PASS authentication, the socket each instance uses
(RFC 5798 §5.1.1.2 group / keepalived unicast), the trackers it follows
(keepalived-vrrp.md §3.2), and clear errors for what the engine cannot run.
"""

import ipaddress

import pytest

from fastvrrp import proto
from fastvrrp.config import loads
from fastvrrp.daemon import convert
from fastvrrp.track.aggregate import Kind
from fastvrrp.vrrp import State


def _load(text, errors=()):
    config, diags = loads(text)
    assert [d.code for d in diags.errors] == list(errors), [str(d) for d in diags.errors]
    return config


def _plan(text, errors=(), **kw):
    config = _load(text, errors)
    return convert.plan_instance(config.instances[0], config.global_defs, **kw)


BASE = """
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 66
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.16.130
        192.168.16.131/24 dev eth1 brd + label eth1:vip
    }
    virtual_ipaddress_excluded {
        10.9.9.9/32
    }
}
"""


def test_seed_like_instance_maps_fields_and_units():
    plan = _plan(BASE, log_detail=True)
    p = plan.params
    assert (p.name, p.vrid, p.version, p.priority, p.advert_int_cs) == ("VI_1", 66, 2, 100, 100)
    assert p.initial_state is State.MASTER and p.log_detail is True
    assert p.vips == tuple(ipaddress.ip_address(a) for a in ("192.168.16.130", "192.168.16.131"))
    assert p.primary_address is None                  # found at start
    assert p.garp_master_delay_ns == 5_000_000_000 and p.garp_master_repeat == 5
    assert (plan.auth_type, plan.auth_pass) == (proto.AUTH_PASS, b"1111")
    v1, v2 = plan.vips
    assert (str(v1), v1.prefixlen) == ("192.168.16.130/32 dev eth0", 32)
    assert (v2.ifname, str(v2.broadcast_address), v2.label) == \
        ("eth1", "192.168.16.255", "eth1:vip")
    assert [str(e) for e in plan.evips] == ["10.9.9.9/32 dev eth0"]
    assert plan.all_vips == plan.vips + plan.evips
    assert plan.rx_key == convert.RxKey(4, "eth0", group="224.0.0.18")
    assert plan.tx_key == convert.TxKey(4, "eth0", multicast=True)
    assert plan.identity == (66, "eth0", 4, None)
    # the own interface and the VIPs' interfaces are tracked with weight 0 (FAULT)
    assert {(s.kind, s.name, s.weight) for s in plan.trackers} == {
        (Kind.INTERFACE, "eth0", 0), (Kind.INTERFACE, "eth1", 0)}


def test_v3_fractional_interval_and_no_authentication():
    text = BASE.replace("advert_int 1", "advert_int 0.1\n    version 3")
    plan = _plan(text, errors=("auth-dropped",))      # keepalived: reported, then ignored
    assert (plan.params.version, plan.params.advert_int_cs) == (3, 10)
    assert plan.auth_type == proto.AUTH_NONE          # RFC 5798 §9: no authentication in v3


def test_unicast_binds_to_its_source_and_lists_peers():
    text = BASE.replace("    advert_int 1\n", "    advert_int 1\n    unicast_src_ip 10.0.0.1\n"
                        "    unicast_ttl 10\n    unicast_peer {\n        10.0.0.2\n    }\n")
    plan = _plan(text)
    assert plan.unicast and plan.peers == ("10.0.0.2",) and plan.params.unicast
    assert plan.configured_src == "10.0.0.1" and plan.ttl == 10
    assert plan.rx_key == convert.RxKey(4, "eth0", source="10.0.0.1")
    assert plan.tx_key == convert.TxKey(4, "eth0", multicast=False, unicast_hops=10)
    assert plan.identity == (66, "eth0", 4, ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize("extra, checked", [
    ("", False),                                   # keepalived 2.2.7: any source is heard
    ("    check_unicast_src\n", True),
    ("    unicast_fault_no_peer\n", False),
])
def test_unicast_sources_are_checked_only_when_asked(extra, checked):
    text = BASE.replace("    advert_int 1\n", "    advert_int 1\n" + extra + "    unicast_peer {\n"
                        "        10.0.0.2\n    }\n")
    plan = _plan(text)
    assert plan.check_peers is checked and not plan.no_peer_fault


def test_ipv6_instance_uses_ff02_12():
    text = BASE.replace("""        192.168.16.130
        192.168.16.131/24 dev eth1 brd + label eth1:vip""", "        fd00::100/64").replace(
        "        10.9.9.9/32\n", "")
    plan = _plan(text, errors=("auth-dropped",))      # IPv6 is VRRPv3: no PASS
    assert (plan.family, plan.params.version) == (6, 3)
    assert plan.rx_key.group == "ff02::12"
    assert plan.vips[0].effective_preferred_lft == 0xFFFFFFFF   # /64: forever


def test_core_tells_what_needs_a_restart():
    a = _plan(BASE)
    assert a.core() == _plan(BASE).core()
    assert a.core() != _plan(BASE.replace("priority 100", "priority 101")).core()
    assert a.core() != _plan(BASE.replace("192.168.16.130", "192.168.16.140")).core()


@pytest.mark.parametrize("edit,message", [
    (("auth_type PASS", "auth_type AH"), "auth_type AH is not supported"),
    (("    advert_int 1\n", "    advert_int 1\n    use_ipvlan\n"), "use_ipvlan"),
])
def test_what_cannot_run_is_a_clear_error(edit, message):
    config, _diags = loads(BASE.replace(*edit))
    with pytest.raises(convert.ConvertError, match=message) as info:
        convert.plan_instance(config.instances[0], config.global_defs)
    assert "vrrp_instance VI_1" in str(info.value)


def test_instance_without_interface_needs_the_one_holding_its_source():
    text = BASE.replace("    interface eth0\n", "").replace(
        "    advert_int 1\n", "    advert_int 1\n    unicast_src_ip 10.0.0.1\n"
        "    unicast_peer {\n        10.0.0.2\n    }\n").replace(
        "        192.168.16.131/24 dev eth1 brd + label eth1:vip\n", "").replace(
        "    virtual_ipaddress_excluded {\n        10.9.9.9/32\n    }\n", "").replace(
        "        192.168.16.130\n", "        192.168.16.130 dev eth7\n")
    config = _load(text)
    inst = config.instances[0]
    with pytest.raises(convert.ConvertError, match="none holds its source address 10.0.0.1"):
        convert.plan_instance(inst, config.global_defs)
    plan = convert.plan_instance(inst, config.global_defs, ifname="eth7")
    assert plan.ifname == "eth7" and plan.vips[0].ifname == "eth7"


def test_vet_scripts_drops_missing_ones_and_keeps_the_rest(tmp_path):
    good = tmp_path / "good.sh"
    good.write_text("#!/bin/sh\nexit 0\n")
    good.chmod(0o755)
    text = ("vrrp_script ok {\n    script \"%s\"\n    interval 2\n    weight 2\n}\n"
            "vrrp_script gone {\n    script \"%s\"\n}\n"
            "vrrp_script unused {\n    script \"%s\"\n}\n" % (good, tmp_path / "nope", good))
    text += BASE.replace("    virtual_ipaddress {", "    track_script {\n        ok\n        gone\n"
                         "    }\n    virtual_ipaddress {")
    config = _load(text)
    vetted = convert.vet_scripts(config)
    assert set(vetted.scripts) == {"ok"} and vetted.dropped == {"gone"}
    assert vetted.scripts["ok"].interval_s == 2.0
    texts = [m.text for m in vetted.messages]
    assert "Disabling track script gone since not found/accessible" in texts
    assert any("unused" in t for t in texts)
    plan = convert.plan_instance(config.instances[0], config.global_defs,
                                 skip_scripts=vetted.dropped)
    scripts = [(s.name, s.weight) for s in plan.trackers if s.kind is Kind.SCRIPT]
    assert scripts == [("ok", 2)]                     # a dropped script does not FAULT (§3.3)


def test_startup_delay():
    config = _load("global_defs {\n    vrrp_startup_delay 1.5\n}\n" + BASE)
    assert convert.startup_delay_ns(config.global_defs) == 1_500_000_000
