"""Issue 6 (memory): what the running daemon lets go of, and what it keeps once.

Structural facts only (byte counts are the bench's, `fastvrrp bench steady`):
the daemon's config has no source positions, a running engine keeps no model
instances (the plans hold what runs), a plan keeps one InstanceParams, and
the small per-instance containers (tracking entries, notify targets) are not
dicts keyed by a tuple each.
"""

import dataclasses
import ipaddress
import sys

import pytest

from fastvrrp.config import loads
from fastvrrp.config.model import NOWHERE, forget_positions
from fastvrrp.daemon import configload, convert
from fastvrrp.daemon.engine import Engine
from fastvrrp.daemon.notify import GROUP, INSTANCE, Notifier
from fastvrrp.track.aggregate import InstanceTracking, Kind, TrackerSpec, _MANY

CONF = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    no_accept
    advert_int 1
    virtual_ipaddress {
        10.0.0.1/32
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 2
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.2/32
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 3
    priority 255
    no_accept
    advert_int 1
    virtual_ipaddress {
        10.0.0.3/32
    }
}
"""
NAMES = ("VI_1", "VI_2", "VI_3")


def _config(text=CONF):
    config, diags = loads(text)
    assert config is not None and not diags.errors, diags
    return config


# -- the daemon's config: no positions ------------------------------------------------------
def test_the_daemon_reads_its_config_without_positions(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    config, diags = configload.load_config(str(path), None)
    assert not diags.errors
    for inst in config.instances:
        assert inst.pos is NOWHERE and inst.where("priority") is NOWHERE
        assert all(vip.pos is NOWHERE for vip in inst.vips)
    # the multicast group every instance uses is one object
    groups = {id(inst.mcast_dst_ip) for inst in config.instances}
    assert len(groups) == 1


def test_a_bad_config_keeps_its_positions_for_the_messages(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF.replace("virtual_router_id 2", "virtual_router_id 300"))
    _config_, diags = configload.load_config(str(path), None)
    assert diags.errors
    assert all(d.pos.line > 0 for d in diags.errors)


def test_forget_positions_shares_equal_addresses():
    peer = "    unicast_peer {\n        10.9.9.9\n    }\n"
    text = CONF.replace("    advert_int 1\n", "    advert_int 1\n" + peer)
    config = forget_positions(_config(text))
    a, b, _c = config.instances
    assert a.unicast_peers[0].address is b.unicast_peers[0].address
    assert a.unicast_peers[0].address == ipaddress.ip_address("10.9.9.9")
    assert a.vips[0].address == ipaddress.ip_address("10.0.0.1")


# -- a running engine's config: no model instances ----------------------------------------
def test_release_instances_drops_the_models_and_keeps_the_firewalled_names():
    config = _config()
    assert config.instance("VI_1") is not None       # fills the by-name cache
    firewalled = convert.release_instances(config)
    # RFC 5798 §6.4.3: a non-owner without Accept_Mode; the owner (255) never drops
    assert firewalled == {"VI_1"}
    assert config.instances == () and config.instance("VI_1") is None
    assert convert.release_instances(config) == frozenset()     # nothing left to release


def test_the_engine_answers_the_accept_mode_question_after_the_release():
    config = _config()
    eng = Engine(config)
    before = [eng._needs_firewall(name) for name in NAMES]
    assert before == [True, False, False]
    eng._firewalled = convert.release_instances(eng.config)    # what _start does at its end
    assert eng.config.instances == ()
    assert [eng._needs_firewall(name) for name in NAMES] == before
    assert eng._needs_firewall("VI_404") is False


# -- one InstanceParams per plan ----------------------------------------------------------
def test_plan_core_leaves_the_source_address_out():
    config = _config()
    plan = convert.plan_instance(config.instances[1], config.global_defs)
    with_src = dataclasses.replace(plan, params=dataclasses.replace(
        plan.params, primary_address=ipaddress.ip_address("192.0.2.1")))
    assert with_src.core() == plan.core()
    other = dataclasses.replace(plan, params=dataclasses.replace(plan.params, priority=101))
    assert other.core() != plan.core()


# -- small per-instance containers --------------------------------------------------------
def _specs(n):
    return [TrackerSpec(Kind.INTERFACE, "eth%d" % i) for i in range(n)]


def _states(n, up=True):
    return {(Kind.INTERFACE, "eth%d" % i): up for i in range(n)}


def test_few_trackers_are_not_a_dict_and_behave_as_one():
    few = InstanceTracking("VI_1", _specs(2), _states(2))
    assert not isinstance(few._entries, dict)
    assert sys.getsizeof(few._entries) < sys.getsizeof({1: 1})
    assert few.tracks(Kind.INTERFACE, "eth1") and not few.tracks(Kind.INTERFACE, "eth7")
    assert few.update(Kind.INTERFACE, "eth7", False) == []
    events = few.update(Kind.INTERFACE, "eth1", False)
    assert [type(e).__name__ for e in events] == ["FaultSet"]
    assert few.faults == {"track_interface eth1"}
    assert [s.name for s in few.specs] == ["eth0", "eth1"]


def test_many_trackers_keep_constant_time_lookups():
    n = _MANY + 4
    many = InstanceTracking("VI_1", _specs(n), _states(n))
    assert isinstance(many._entries, dict)
    assert many.update(Kind.INTERFACE, "eth%d" % (n - 1), False)
    assert many.faults == {"track_interface eth%d" % (n - 1)}


class _Runner:
    """Stands in for the ScriptRunner (nothing runs in these tests)."""


@pytest.fixture
def notifier(monkeypatch):
    from fastvrrp.daemon import notify
    monkeypatch.setattr(notify, "ScriptRunner", _Runner)
    return Notifier(_Runner())


def test_notify_targets_are_keyed_by_name_per_kind(notifier):
    for name in NAMES:
        notifier.add_instance(name)
    notifier.add_group("G1")
    assert set(notifier._targets) == {INSTANCE, GROUP}
    assert all(type(key) is str for key in notifier._targets[INSTANCE])
    assert sorted(notifier._targets[INSTANCE]) == sorted(NAMES)
    notifier.remove_instance("VI_2")
    assert "VI_2" not in notifier._targets[INSTANCE]
    from fastvrrp.daemon.notify import NotifyError
    with pytest.raises(NotifyError, match="no instance 'VI_2'"):
        notifier.instance("VI_2", "MASTER", 100)
