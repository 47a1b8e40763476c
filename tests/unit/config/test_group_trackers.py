"""Sync-group trackers in the config model (fastvrrp.config.syncgroups.apply_trackers).

What keepalived 2.2.7 does was read from a SIGUSR1 data dump of a running
keepalived in a namespace (each member's effective priority with eth0..eth2
up) and from `keepalived -t`:

  member `eth1 weight 10`, no group entry            -> 110 (see below), "ignoring ... weight"
  member `eth1 weight 10`, group `eth1 weight 5`     -> 105 / 105, "configured on VRRP instance
                                                        and sync group" (an error: -t exits 5)
  group `eth0 weight 5` (eth0: the members' own)     -> 100 / 100, that error for both members
  ... VI_1 with dont_track_primary                   -> VI_1 105 (no error for it), VI_2 100
  member `eth2 weight 0`, group `eth2 weight 5`      -> VI_1 100 (error), VI_2 105
  a member with priority 255                         -> the group's weights cleared, with an error

Deliberate difference (fastvrrp.vrrp.sync_tracking): 2.2.7 says it ignores the
weight of a member's own track_interface in a sync group without
sync_group_tracking_weight, but registers the interface before it clears the
weight, so the weight still counts (110 above, and a group entry then
replaces it: 105).  fastvrrp does what the message says: weight 0, and an
unweighted member entry keeps the group's weight out (100).
"""


import pytest

from fastvrrp.config import loads
from fastvrrp.daemon import convert
from fastvrrp.track.aggregate import Kind, TrackerSpec, instance_trackers

HEAD = """
global_defs {
    script_user root
}
vrrp_script chk {
    script "/bin/true"
}
vrrp_script chk2 {
    script "/bin/true"
}
"""


def _instance(name, vrid, *, priority=100, extra=()):
    body = "\n".join("    %s" % e for e in extra)
    return """
vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
%s
    virtual_ipaddress {
        10.0.0.%d/24
    }
}
""" % (name, vrid, priority, body, vrid)


def _config(group_body, vi1=(), vi2=(), *, vi1_priority=100):
    text = HEAD + "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n"
    text += "".join("    %s\n" % line for line in group_body) + "}\n"
    text += _instance("VI_1", 51, priority=vi1_priority, extra=vi1)
    text += _instance("VI_2", 52, extra=vi2)
    return loads(text)


def _interfaces(config, name):
    specs = instance_trackers(config.instance(name))
    return {s.name: (s.weight, s.reverse) for s in specs if s.kind is Kind.INTERFACE}


def _messages(diags):
    return [d.message for d in diags.errors]


def _runtime(config):
    """The daemon's trackers (fastvrrp.daemon.convert, through sync_group_trackers)."""
    plans = [convert.plan_instance(i, config.global_defs) for i in config.instances]
    return {p.name: set(p.trackers) for p in convert.group_plans(config, plans)}


TRACK_IF = ["track_interface {", "    eth1 weight 5", "}"]


def test_group_track_interface_reaches_every_member():
    config, diags = _config(TRACK_IF)
    assert _messages(diags) == []
    for name in ("VI_1", "VI_2"):
        assert _interfaces(config, name) == {"eth0": (0, False), "eth1": (5, False)}
        inherited = [t for t in config.instance(name).track_interfaces if t.group == "G"]
        assert [(t.name, t.weight) for t in inherited] == [("eth1", 5)]


def test_owner_member_clears_group_interface_weight():
    config, diags = _config(TRACK_IF + ["track_script {", "    chk weight 4", "}"],
                            vi1_priority=255)
    assert _messages(diags) == [
        "(G) cannot have weighted track script 'chk' with a member having priority 255 - "
        "clearing the weight",
        "(G) cannot have weighted track interface 'eth1' with a member having priority 255 - "
        "clearing the weight"]
    for name in ("VI_1", "VI_2"):
        assert _interfaces(config, name)["eth1"] == (0, False)
        scripts = [s for s in instance_trackers(config.instance(name)) if s.kind is Kind.SCRIPT]
        assert scripts == [TrackerSpec(Kind.SCRIPT, "chk", 0, False)]


def test_group_tracks_members_own_interface():
    config, diags = _config(["track_interface {", "    eth0 weight 5", "}"])
    assert _messages(diags) == [
        "(VI_1) track_interface eth0 is configured on VRRP instance and sync group. "
        "Remove vrrp instance or sync group config",
        "(VI_2) track_interface eth0 is configured on VRRP instance and sync group. "
        "Remove vrrp instance or sync group config"]
    for name in ("VI_1", "VI_2"):      # the own interface stays unweighted: down is FAULT
        assert _interfaces(config, name) == {"eth0": (0, False)}


def test_dont_track_primary_lets_the_group_weight_the_own_interface():
    config, diags = _config(["track_interface {", "    eth0 weight 5", "}"],
                            vi1=["dont_track_primary"])
    assert _messages(diags) == [
        "(VI_2) track_interface eth0 is configured on VRRP instance and sync group. "
        "Remove vrrp instance or sync group config"]
    assert _interfaces(config, "VI_1") == {"eth0": (5, False)}
    assert _interfaces(config, "VI_2") == {"eth0": (0, False)}


def test_dont_track_primary_group_weight_zero_faults_on_own_interface():
    config, _ = _config(["track_interface {", "    eth0", "}"], vi1=["dont_track_primary"])
    assert _interfaces(config, "VI_1") == {"eth0": (0, False)}


def test_unweighted_member_entry_keeps_the_group_weight_out():
    config, diags = _config(["track_interface {", "    eth2 weight 5 reverse", "}"],
                            vi1=["track_interface {", "    eth2 weight 0", "}"])
    assert _messages(diags) == [
        "(VI_1) track_interface eth2 is configured on VRRP instance and sync group. "
        "Remove vrrp instance or sync group config"]
    assert _interfaces(config, "VI_1")["eth2"] == (0, False)
    assert _interfaces(config, "VI_2")["eth2"] == (5, True)


def test_member_weight_in_group_becomes_fault_tracking():
    # deliberate difference from 2.2.7 (module docstring): the weight is really ignored
    config, diags = _config([], vi1=["track_interface {", "    eth1 weight 10", "}"])
    assert any("ignoring" in m and "eth1" in m for m in _messages(diags))
    assert _interfaces(config, "VI_1")["eth1"] == (0, False)
    config, _ = _config(TRACK_IF, vi1=["track_interface {", "    eth1 weight 10", "}"])
    assert _interfaces(config, "VI_1")["eth1"] == (0, False)
    assert _interfaces(config, "VI_2")["eth1"] == (5, False)


def test_tracking_weight_lets_the_group_replace_a_weighted_member_entry():
    group = ["sync_group_tracking_weight", "track_script {", "    chk weight 7 reverse", "}",
             "track_interface {", "    eth1 weight -3", "}"]
    config, diags = _config(group, vi1=["track_script {", "    chk weight 2", "    chk2", "}",
                                        "track_interface {", "    eth1 weight 9", "}"])
    assert _messages(diags) == [
        "(VI_1) track_interface eth1 is configured on VRRP instance and sync group. "
        "Remove vrrp instance or sync group config"]
    scripts = {s.name: (s.weight, s.reverse) for s in instance_trackers(config.instance("VI_1"))
               if s.kind is Kind.SCRIPT}
    assert scripts == {"chk": (7, True), "chk2": (0, False)}
    assert _interfaces(config, "VI_1")["eth1"] == (-3, False)


def test_group_trackers_are_not_rendered_on_members():
    from fastvrrp.config.render import render
    config, _ = _config(TRACK_IF)
    again, diags = loads(render(config))
    assert _messages(diags) == []
    assert _interfaces(again, "VI_1") == _interfaces(config, "VI_1")


CASES = {
    "plain": (TRACK_IF, (), ()),
    "own interface": (["track_interface {", "    eth0 weight 5", "}"], (), ()),
    "dont_track_primary": (["track_interface {", "    eth0 weight 5", "}"],
                           ["dont_track_primary"], ()),
    "unweighted member": (["track_interface {", "    eth2 weight 5", "}"],
                          ["track_interface {", "    eth2 weight 0", "}"], ()),
    "weighted member": (TRACK_IF, ["track_interface {", "    eth1 weight 10", "}"], ()),
    "vip on a tracked interface": (["track_interface {", "    eth3 weight 5", "}"], (),
                                   ["virtual_ipaddress_excluded {", "    10.9.9.9/24 dev eth3",
                                    "}"]),
    "scripts with tracking weight": (
        ["sync_group_tracking_weight", "track_script {", "    chk weight 7", "}"],
        ["track_script {", "    chk weight 2", "    chk2 weight -1", "}"], ()),
    "scripts without tracking weight": (
        ["track_script {", "    chk weight 7", "}"],
        ["track_script {", "    chk", "    chk2 weight -1", "}"], ()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_model_and_daemon_agree(case):
    group, vi1, vi2 = CASES[case]
    config, _ = _config(group, vi1=vi1, vi2=vi2)
    runtime = _runtime(config)
    for inst in config.instances:
        assert set(instance_trackers(inst)) == runtime[inst.name], inst.name


def test_owner_model_and_daemon_agree():
    config, _ = _config(TRACK_IF + ["track_script {", "    chk2 weight 3", "}"], vi1_priority=255)
    runtime = _runtime(config)
    for inst in config.instances:
        assert set(instance_trackers(inst)) == runtime[inst.name], inst.name
