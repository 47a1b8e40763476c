"""keepalived.conf -> model: the seed config, keepalived 2.2.7's derived values
(reference §3.2, §3.5, §3.6, §3.11, §3.15, §3.20), the §1.13 vectors, and
the places where fastvrrp deliberately differs (issue 3 point 4)."""

import dataclasses
from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest

from fastvrrp.config import load, loads
from fastvrrp.config.model import Command, VrrpInstance
from paths import CORPUS
from paths import SEED as SEED_DIR

SEED = SEED_DIR / "keepalived.conf"


def one(body, head="", version_line=""):
    """An instance VI_1 on eth0 with VRID 51 and one VIP, plus `body` lines."""
    text = (head + "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
            + version_line + "    virtual_ipaddress {\n        192.0.2.1/24\n    }\n"
            + body + "}\n")
    config, diags = loads(text, filename="t.conf")
    return config, diags


def msgs(diags, severity=None):
    return [(d.pos.line, d.message) for d in diags if severity in (None, d.severity)]


# ---------------------------------------------------------------- the seed

def test_seed_config_model():
    config, diags = load(str(SEED))
    assert list(diags) == []
    (inst,) = config.instances
    assert (inst.name, inst.state, inst.interface, inst.vrid, inst.priority) == \
        ("VI_1", "MASTER", "ens33", 66, 100)
    assert (inst.family, inst.version, inst.advert_int_cs) == (4, 2, 100)
    assert (inst.auth_type, inst.auth_pass) == ("PASS", b"1111\0\0\0\0")
    assert [(str(a.address), a.prefixlen, a.dev) for a in inst.vips] == \
        [("192.168.16.130", 32, None)]
    assert [(t.name, t.weight, t.reverse) for t in inst.track_scripts] == \
        [("chk_http_port", 2, False)]
    assert inst.mcast_dst_ip == IPv4Address("224.0.0.18")
    assert (inst.nopreempt, inst.accept, inst.strict_mode) == (False, True, False)
    script = config.scripts["chk_http_port"]
    assert script.command == Command(("/usr/local/src/check_nginx_pid.sh",))
    assert (script.interval_us, script.weight, script.rise, script.fall) == (2_000_000, 2, 1, 1)
    assert inst.identity == (66, "ens33", 4, None)
    assert inst.where("priority").line == 12


def test_seed_backup_config_differs_only_in_role():
    config, diags = load(str(SEED.with_name("keepalived-backup.conf")))
    assert diags.errors == []
    (inst,) = config.instances
    assert (inst.state, inst.priority, inst.vrid) == ("BACKUP", 99, 66)


@pytest.mark.parametrize("config_id,priority,script", [
    ("high", 170, "/etc/keepalived/scripts/check_high_VI_0.sh"),
    ("low", 85, "/etc/keepalived/scripts/check_low_VI_0.sh")])
def test_conditional_conf(config_id, priority, script):
    config, diags = load(str(CORPUS / "keepalived.conf.conditional_conf"),
                         config_id)
    assert list(diags) == []
    (inst,) = config.instances
    assert (inst.priority, inst.version, inst.advert_int_cs, config.net_namespace) == \
        (priority, 3, 1200, config_id)
    assert inst.use_vmac.ifname == "vrrp.1"
    assert [(t.name, t.weight) for t in inst.track_interfaces] == [("eth3", 0), ("eth2", 20)]
    s = config.scripts["check_VI_0"]
    assert (s.command.argv, s.timeout_us, s.rise, s.fall) == ((script,), 10_000_000, 3, 3)


def test_conditional_conf_without_a_matching_id():
    config, diags = load(str(CORPUS / "keepalived.conf.conditional_conf"),
                         "otherhost")
    assert config.scripts == {} and config.net_namespace is None
    assert config.instances[0].priority == 100
    assert [(d.pos.line, d.code) for d in diags.errors] == \
        [(13, "missing-script"), (25, "undefined-script")]


# ---------------------------------------------------------------- derived values §3.5

def test_state_master_without_priority_is_the_owner():
    config, diags = one("    state MASTER\n    nopreempt\n    preempt_delay 5\n")
    inst = config.instances[0]
    assert (inst.priority, inst.state, inst.nopreempt, inst.preempt_delay_us) == \
        (255, "MASTER", False, 0)
    assert msgs(diags) == [
        (8, "(VI_1) nopreempt is incompatible with priority 255 - resetting nopreempt"),
        (9, "(VI_1) preempt_delay will not work with initial state MASTER - clearing it")]


def test_nopreempt_and_preempt_delay_cancelled_by_state_master():
    config, diags = one("    state MASTER\n    priority 150\n    nopreempt\n"
                        "    preempt_delay 5\n")
    inst = config.instances[0]
    assert (inst.nopreempt, inst.preempt_delay_us) == (False, 0)
    assert msgs(diags) == [
        (9, "(VI_1) nopreempt will not work with initial state MASTER - clearing it"),
        (10, "(VI_1) preempt_delay will not work with initial state MASTER - clearing it")]


def test_priority_255_without_state_starts_master_and_backup_otherwise():
    assert one("    priority 255\n")[0].instances[0].state == "MASTER"
    assert one("")[0].instances[0].state == "BACKUP"
    assert one("")[0].instances[0].priority == 100


def test_state_master_then_backup_keeps_master():
    config, diags = one("    state MASTER\n    state BACKUP\n    priority 100\n")
    assert config.instances[0].state == "MASTER"
    assert msgs(diags) == [(8, "(VI_1) state previously set as MASTER - ignoring BACKUP")]


# ---------------------------------------------------------------- timers §3.6

@pytest.mark.parametrize("text,version,cs,error", [
    ("1", 2, 100, None), ("0.5", 2, 100, "rounding to 1s"), ("2.5", 2, 300, "rounding to 3s"),
    ("255", 2, 25500, None), ("0.01", 3, 1, None), ("0.014", 3, 1, "rounding to 0.01s"),
    ("40.95", 3, 4095, None), ("100", 3, 4095, "using 40.95s"), ("12", 3, 1200, None)])
def test_advert_int_units(text, version, cs, error):
    config, diags = one("    advert_int %s\n    version %d\n" % (text, version))
    assert config.instances[0].advert_int_cs == cs
    assert config.instances[0].advert_int_us == cs * 10_000
    found = [d.message for d in diags.errors]
    assert (error is None and found == []) or (len(found) == 1 and error in found[0])


def test_advert_int_out_of_parse_range_is_ignored():
    config, diags = one("    advert_int 300\n")
    assert config.instances[0].advert_int_cs == 100
    assert msgs(diags) == [(7, "(VI_1) advert_int: number '300' outside range "
                                "[0.010000, 255.000000] - ignoring")]


# ---------------------------------------------------------------- auth §3.11

def test_auth_dropped_in_v3_and_strict():
    config, diags = one("    version 3\n    authentication {\n        auth_type PASS\n"
                        "        auth_pass secret\n    }\n")
    assert (config.instances[0].auth_type, config.instances[0].auth_pass) == (None, None)
    assert msgs(diags) == [(9, "(VI_1) VRRP version 3 does not support authentication - "
                               "ignoring it")]
    config, diags = one("    strict_mode\n    authentication {\n        auth_type PASS\n"
                        "        auth_pass secret\n    }\n")
    assert config.instances[0].auth_type is None
    assert any("strict mode does not support authentication" in m for _, m in msgs(diags))


def test_auth_pass_truncated_and_zero_padded():
    config, diags = one("    authentication {\n        auth_type PASS\n"
                        "        auth_pass 123456789\n    }\n")
    assert config.instances[0].auth_pass == b"12345678"
    config, diags = one("    authentication {\n        auth_type PASS\n        auth_pass ab\n"
                        "    }\n")
    assert config.instances[0].auth_pass == b"ab\0\0\0\0\0\0"
    assert list(diags) == []


def test_ah_with_state_master_non_owner_starts_backup():
    config, diags = one("    state MASTER\n    priority 100\n    authentication {\n"
                        "        auth_type AH\n        auth_pass 1111\n    }\n")
    assert (config.instances[0].state, config.instances[0].auth_type) == ("BACKUP", "AH")
    assert msgs(diags) == [(7, "(VI_1) initial state MASTER is incompatible with AH "
                               "authentication - using BACKUP")]


# ---------------------------------------------------------------- strict mode §3.20

def test_strict_mode_derivations():
    config, diags = one("    state MASTER\n    priority 150\n", "global_defs {\n  vrrp_strict\n}\n")
    inst = config.instances[0]
    assert inst.strict_mode
    assert (inst.state, inst.accept, inst.lower_prio_no_advert, inst.higher_prio_send_advert,
            inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay_us,
            inst.owner_ignore_adverts) == ("BACKUP", False, True, False, 0, 0, True)
    assert msgs(diags) == [(10, "(VI_1) state MASTER must match being the address owner "
                                "(priority 255) in strict mode - using BACKUP")]


def test_strict_accept_v2_reset_and_owner_accepts():
    config, diags = one("    accept\n    strict_mode\n")
    assert config.instances[0].accept is False
    assert msgs(diags) == [(7, "(VI_1) accept mode for VRRP version 2 does not comply with "
                               "RFC 3768 - resetting")]
    config, _ = one("    strict_mode\n    priority 255\n")
    assert config.instances[0].accept is True


def test_global_vrrp_strict_false_means_false():
    config, diags = one("", "global_defs {\n  vrrp_strict false\n}\n")
    assert config.global_defs.vrrp_strict is False
    assert config.instances[0].strict_mode is False
    assert [d.code for d in diags] == ["keepalived-bug"]


# ---------------------------------------------------------------- tracking §3.2

def test_track_weights_clamped_and_rejected():
    config, diags = one("    track_interface {\n        eth1 weight 254\n"
                        "        eth2 weight -300\n        eth3 weight 10 reverse\n"
                        "        eth4\n    }\n")
    ifs = [(t.name, t.weight, t.reverse) for t in config.instances[0].track_interfaces]
    assert ifs == [("eth1", 253, False), ("eth2", 0, False), ("eth3", 10, True),
                   ("eth4", 0, False)]
    assert [m for _, m in msgs(diags)] == [
        "(VI_1) weight for eth1 cannot be +/-254 - using +253",
        "(VI_1) track_interface eth2: weight -300 must be in [-253, 253] - using 0"]


def test_track_script_weight_defaults_to_the_scripts_own():
    head = ('vrrp_script a {\n script "/bin/a"\n weight -5 reverse\n}\n'
            'vrrp_script b {\n script "/bin/b"\n weight 7\n}\n')
    config, diags = one("    track_script {\n        a\n        b weight 3 noreverse\n    }\n",
                        head)
    assert [(t.name, t.weight, t.reverse) for t in config.instances[0].track_scripts] == \
        [("a", -5, True), ("b", 3, False)]
    assert diags.errors == []


def test_owner_drops_weighted_trackers():
    head = 'vrrp_script a {\n script "/bin/a"\n weight 5\n}\n'
    config, diags = one("    priority 255\n    track_script {\n        a\n    }\n"
                        "    track_interface {\n        eth1 weight 5\n        eth2\n    }\n",
                        head)
    inst = config.instances[0]
    assert inst.track_scripts == ()
    assert [t.name for t in inst.track_interfaces] == ["eth2"]
    assert len(diags.errors) == 2


def test_script_out_of_range_weight_is_clamped():
    config, diags = loads('vrrp_script a {\n script "/bin/a"\n weight 300\n}\n')
    assert config.scripts["a"].weight == 253
    assert msgs(diags, "error") == [(3, "(a) weight 300 must be in [-253, 253] - using 253")]


def test_script_interval_zero_and_milliseconds():
    config, diags = loads('vrrp_script a {\n script "/bin/a"\n interval 0\n timeout 0.25\n}\n')
    assert (config.scripts["a"].interval_us, config.scripts["a"].timeout_us) == \
        (1_000_000, 250_000)
    assert msgs(diags, "error") == [(3, "(a) interval must be greater than 0 - using 1")]


# ---------------------------------------------------------------- addresses §2.3

def test_vip_options_and_defaults():
    config, diags = loads(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n"
        "  10.1.1.1/24 dev eth1 brd + label eth1:vip scope link\n  10.1.1.2 no_track\n"
        "  10.1.1.3/30 brd -\n }\n virtual_ipaddress_excluded {\n  2001:db8::5/64\n"
        "  2001:db8::6 -nodad\n }\n}\n")
    assert diags.errors == []
    a, b, c = config.instances[0].vips
    assert (a.dev, a.broadcast, a.label, a.scope) == \
        ("eth1", IPv4Address("10.1.1.255"), "eth1:vip", 253)
    assert (b.prefixlen, b.no_track, b.broadcast) == (32, True, None)
    assert c.broadcast == IPv4Address("10.1.1.0")
    e1, e2 = config.instances[0].evips
    assert (e1.preferred_lft, e1.nodad) == (0xFFFFFFFF, True)
    assert (e2.prefixlen, e2.preferred_lft, e2.nodad) == (128, 0, False)


def test_vip_list_one_address_per_line():
    # reference §1.4 T2: the second address on a line is an unknown option
    config, diags = one("", version_line="")
    config, diags = loads("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n"
                          " virtual_ipaddress {\n  10.9.8.1/24 10.9.8.2/24\n }\n}\n")
    assert [str(a.address) for a in config.instances[0].vips] == ["10.9.8.1"]
    assert msgs(diags) == [(5, "(VI_1) unknown option '10.9.8.2/24' for address 10.9.8.1/24 - "
                               "ignoring it")]


def test_duplicate_vips_are_dropped_with_a_warning():
    config, diags = load(str(CORPUS / "keepalived.conf.vrrp"))
    vi1 = config.instance("VI_1")
    assert [str(a.address) for a in vi1.vips] == \
        ["192.168.200.16", "192.168.200.17", "192.168.200.18"]
    assert [d.code for d in diags if d.code == "duplicate-vip"] == ["duplicate-vip"]


def test_first_address_decides_the_family():
    config, diags = loads("vrrp_instance V6 {\n interface eth0\n virtual_router_id 5\n"
                          " virtual_ipaddress {\n  fe80::1\n  2001:db8::1/64\n  10.0.0.1\n }\n"
                          " unicast_src_ip 10.0.0.2\n}\n")
    inst = config.instances[0]
    assert (inst.family, inst.version) == (6, 3)
    assert inst.mcast_dst_ip == IPv6Address("ff02::12")
    assert [str(a.address) for a in inst.vips] == ["fe80::1", "2001:db8::1"]
    assert [d.code for d in diags.errors] == ["family-mismatch", "family-mismatch"]


def test_ipv6_with_v2_uses_v3():
    config, diags = loads("vrrp_instance V6 {\n interface eth0\n virtual_router_id 5\n"
                          " version 2\n virtual_ipaddress {\n  fe80::1\n }\n}\n")
    assert config.instances[0].version == 3
    assert msgs(diags) == [(4, "(V6) VRRP version 2 cannot carry IPv6 - using version 3")]


# ---------------------------------------------------------------- unicast, identity

def test_unicast_instance_and_identity():
    config, diags = loads(
        "vrrp_instance U {\n interface eth0\n virtual_router_id 9\n unicast_src_ip 10.0.0.1\n"
        " unicast_peer {\n  10.0.0.2\n  10.0.0.3 min_ttl 200 max_ttl 255\n }\n"
        " virtual_ipaddress {\n  10.0.0.100\n }\n}\n")
    inst = config.instances[0]
    assert diags.errors == []
    assert inst.unicast and inst.mcast_dst_ip is None
    assert inst.check_unicast_src          # a ttl option turns it on
    assert inst.identity == (9, "eth0", 4, IPv4Address("10.0.0.1"))
    assert [(str(p.address), p.min_ttl, p.max_ttl) for p in inst.unicast_peers] == \
        [("10.0.0.2", 0, 255), ("10.0.0.3", 200, 255)]


def test_renamed_instance_keeps_its_identity():
    a = one("")[0].instances[0]
    b = dataclasses.replace(a, name="OTHER")
    assert a.identity == b.identity and a != b


def test_unicast_keyword_without_peers_is_multicast():
    config, diags = one("    unicast_src_ip 192.0.2.9\n")
    assert not config.instances[0].unicast
    assert config.instances[0].mcast_dst_ip == IPv4Address("224.0.0.18")
    assert [d.code for d in diags.errors] == ["unicast-no-peer"]


# ---------------------------------------------------------------- sync groups §3.15

def test_sync_group_downgrades_master_and_drops_member_weights():
    config, diags = loads(
        'vrrp_script s {\n script "/bin/s"\n weight 5\n}\n'
        "vrrp_sync_group G {\n group {\n  A\n  B\n }\n track_interface {\n  eth9\n }\n}\n"
        "vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 1\n priority 150\n"
        " track_script {\n  s\n }\n track_interface {\n  eth2 weight 4\n }\n"
        " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
        "vrrp_instance B {\n state MASTER\n interface eth0\n virtual_router_id 2\n"
        " virtual_ipaddress {\n  10.0.0.2\n }\n}\n")
    a, b = config.instances
    assert (a.state, b.state, a.sync_group, b.sync_group) == ("BACKUP", "BACKUP", "G", "G")
    assert a.track_scripts == ()
    assert [(t.name, t.weight, t.group) for t in a.track_interfaces] == \
        [("eth2", 0, None), ("eth9", 0, "G")]
    assert config.sync_groups["G"].members == ("A", "B")
    assert sorted(d.code for d in diags.errors) == ["tracker-weight", "tracker-weight"]
    # the script's only user dropped it, so it is reported as unused too
    assert [d.code for d in diags.warnings] == \
        ["sync-group-state", "sync-group-state", "unused-script"]


def test_sync_group_of_owners_keeps_master():
    config, diags = loads(
        "vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n"
        + "".join("vrrp_instance %s {\n state MASTER\n interface eth0\n virtual_router_id %d\n"
                  " virtual_ipaddress {\n  10.0.0.%d\n }\n}\n" % (n, i, i)
                  for i, n in ((1, "A"), (2, "B"))))
    assert [i.state for i in config.instances] == ["MASTER", "MASTER"]
    assert list(diags) == []


def test_member_of_two_sync_groups():
    config, diags = loads(
        "vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n"
        "vrrp_sync_group H {\n group {\n  A\n  C\n }\n}\n"
        + "".join("vrrp_instance %s {\n interface eth0\n virtual_router_id %d\n"
                  " virtual_ipaddress {\n  10.0.0.%d\n }\n}\n" % (n, i, i)
                  for i, n in ((1, "A"), (2, "B"), (3, "C"))))
    assert msgs(diags, "error") == [
        (9, "virtual router A cannot be in more than one sync group (it is in G) - ignoring "
            "it here"),
        (7, "sync group H has only 1 virtual router - this probably isn't what you want")]
    assert config.sync_groups["H"].members == ("C",)


# ---------------------------------------------------------------- keepalived bugs fixed

def test_skip_check_adv_addr_false_means_false():
    config, diags = one("    skip_check_adv_addr false\n")
    assert config.instances[0].skip_check_adv_addr is False
    assert [d.code for d in diags] == ["keepalived-bug"]
    assert one("    skip_check_adv_addr\n")[0].instances[0].skip_check_adv_addr is True


def test_unknown_sub_block_does_not_close_the_instance():
    config, diags = loads("vrrp_instance VI_1 {\n interface eth0\n future_block {\n"
                          "  priority 10\n }\n virtual_router_id 51\n priority 90\n"
                          " virtual_ipaddress {\n  10.0.0.1\n }\n}\n")
    inst = config.instances[0]
    assert (inst.vrid, inst.priority) == (51, 90)
    assert [(d.severity, d.code, d.pos.line) for d in diags] == \
        [("warning", "unknown-keyword", 3)]


def test_semicolon_is_not_a_separator():
    # reference §1.13 T2: the rest of the line is ignored (fastvrrp warns)
    config, diags = loads("vrrp_instance VI_3 {\n interface eth0 ; virtual_router_id 53\n"
                          " virtual_ipaddress {\n  10.0.0.1\n }\n}\n")
    assert config.instances == ()
    assert [(d.severity, d.code) for d in diags] == \
        [("warning", "extra-words"), ("error", "missing-vrid")]


def test_global_defaults_copied_at_instance_start_like_keepalived():
    # vrrp_data.c alloc_vrrp copies these globals when the instance starts
    config, _ = loads("global_defs {\n vrrp_garp_master_repeat 2\n}\n"
                      "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
                      " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
                      "global_defs {\n vrrp_garp_master_repeat 7\n vrrp_version 3\n}\n")
    inst = config.instances[0]
    assert (inst.garp_master_repeat, inst.version) == (2, 3)
    assert config.global_defs.vrrp_garp_master_repeat == 7


def test_positions_are_kept_for_every_keyword():
    config, _ = one("    priority 90\n")
    inst = config.instances[0]
    assert (inst.pos.file, inst.pos.line) == ("t.conf", 1)
    assert inst.where("virtual_router_id").line == 3
    assert inst.where("priority").line == 7
    assert inst.vips[0].pos.line == 5


def test_model_objects_are_frozen():
    inst = one("")[0].instances[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.priority = 1
    assert isinstance(inst, VrrpInstance) and type(inst) is VrrpInstance
    assert hash(inst.vips[0]) == hash(dataclasses.replace(inst.vips[0]))


def test_routes_and_rules():
    config, diags = loads(
        "static_rules {\n from 10.0.0.0/8 table 100 preference 100\n}\n"
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n"
        " virtual_ipaddress {\n  10.0.0.1\n }\n virtual_routes {\n"
        "  10.1.0.0/16 via 10.0.0.254 dev eth0 table 10 metric 5\n"
        "  blackhole 10.2.0.0/16 no_track\n }\n}\n")
    assert diags.errors == []
    r1, r2 = config.instances[0].vroutes
    assert (r1.dest, str(r1.via), r1.dev, r1.table, r1.metric, r1.protocol, r1.no_track) == \
        (ip_network("10.1.0.0/16"), "10.0.0.254", "eth0", 10, 5, 18, False)
    assert (r2.type, r2.no_track) == ("blackhole", True)
    (rule,) = config.static_rules
    assert (rule.from_, rule.table, rule.preference, rule.action) == \
        (ip_network("10.0.0.0/8"), 100, 100, "table")
