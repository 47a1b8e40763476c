"""Reconfigure through the fast-path bridge (keepalived-vrrp.md §3.17): the slot
is reconfigured in place, a MASTER's adverts go on without a gap and carry
the new priority, VIPs and interval; a BACKUP keeps following its master.
Both the compiled fast path and its pure-Python twin.  No sockets: sends are
captured, time is explicit."""

import dataclasses
import ipaddress

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert, parse_ipv4
from fastvrrp.daemon.fastpath_bridge import TIMER_CODE, FastPathBridge
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import InstanceParams, Startup, State, StateChanged, TimerKind, VrrpMachine
from fastvrrp.vrrp.actions import UpdateVips
from fastvrrp.vrrp.events import Reconfigure

MS = 1_000_000
S = 1_000_000_000
OURS = "192.168.16.129"
PEER = "192.168.16.128"
VIP, VIP2 = "192.168.16.130", "192.168.16.131"
ADV = TIMER_CODE[TimerKind.ADVER]
MD = TIMER_CODE[TimerKind.MASTER_DOWN]
ip = ipaddress.ip_address


def params(**kw):
    base = dict(name="VI_1", vrid=66, version=3, priority=100, advert_int_cs=100,
                vips=(ip(VIP),), primary_address=ip(OURS), garp_master_delay_ns=0)
    base.update(kw)
    return InstanceParams(**base)


class Engine:
    def __init__(self):
        self.actions = []

    def __call__(self, index, now, actions):
        self.actions.extend(actions)


def linked(cls, **kw):
    fp = cls(capture=True)
    engine = Engine()
    bridge = FastPathBridge(fp, engine, strict=True)
    sid = fp.add_socket(-1, 4)
    bridge.add_instance(0, VrrpMachine(params(**kw)), rx_socket=sid, tx_socket=sid, src=OURS)
    return fp, bridge, engine, sid


def reconfigure(bridge, sid, now, **kw):
    new = dataclasses.replace(bridge.machine(0).params, **kw)
    bridge.reconfigure(0, Reconfigure(new), rx_socket=sid, tx_socket=sid, src=OURS, now_ns=now)


def as_master(cls, **kw):
    fp, bridge, engine, sid = linked(cls, **kw)
    bridge.deliver(0, Startup(), S)
    down = fp.timer_deadline(0, MD)
    fp.tick(down)
    assert bridge.machine(0).state is State.MASTER
    fp.take_captured()
    return fp, bridge, engine, sid, down


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
def test_master_reconfigured_in_place_sends_new_adverts_without_a_gap(cls):
    fp, bridge, engine, sid, down = as_master(cls)
    fp.tick(down + S)                                   # a settled advert at the old priority
    fp.tick(down + 2 * S)
    engine.actions.clear()
    t = down + 2 * S + 400 * MS
    reconfigure(bridge, sid, t, priority=150, vips=(ip(VIP), ip(VIP2)), advert_int_cs=50)
    sent = [(s.queued_ns, parse_ipv4(s.packet)) for s in fp.take_captured()]
    assert [(at, a.priority) for at, a in sent] == [(down + S, 100), (down + 2 * S, 100), (t, 150)]
    assert [str(x) for x in sent[-1][1].addresses] == [VIP, VIP2]
    assert sent[-1][1].adver_int == 50
    assert fp.timer_deadline(0, ADV) == t + 500 * MS     # re-armed with the new interval
    fp.tick(t + 500 * MS)                               # and settled in C from then on
    fp.tick(t + 1000 * MS)
    later = [(s.queued_ns, parse_ipv4(s.packet).priority) for s in fp.take_captured()]
    assert later == [(t + 500 * MS, 150), (t + 1000 * MS, 150)]
    assert not [a for a in engine.actions if type(a) is StateChanged]
    assert [a for a in engine.actions if type(a) is UpdateVips] == [UpdateVips()]
    assert bridge.inconsistencies == 0


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
def test_backup_reconfigured_keeps_following_its_master(cls):
    fp, bridge, engine, sid = linked(cls)
    bridge.deliver(0, Startup(), S)
    adv = build_advert(3, 66, 200, 100, [VIP], src=PEER, dst="224.0.0.18", ip_header=True)
    for i in range(2, 5):
        fp.inject(sid, adv, i * S)
    reconfigure(bridge, sid, 4 * S + 100 * MS, priority=150)
    m = bridge.machine(0)
    assert m.state is State.BACKUP and m.effective_priority == 150
    assert fp.timer_deadline(0, MD) == 4 * S + 100 * MS + m.master_down_interval_ns
    for i in range(5, 9):                              # the master goes on: we stay BACKUP
        fp.inject(sid, adv, i * S)
    assert bridge.machine(0).state is State.BACKUP
    assert fp.slot_info(0)["rx_settle"]                # settled in C again once relearned
    assert bridge.inconsistencies == 0


def test_a_slot_configuration_the_fast_path_refuses_leaves_the_machine_unchanged():
    fp, bridge, engine, sid, down = as_master(FastPath)
    # a valid InstanceParams whose slot cannot be built: auth PASS on VRRPv3
    with pytest.raises(ValueError, match="authentication"):
        bridge.reconfigure(0, Reconfigure(dataclasses.replace(bridge.machine(0).params,
                                                              priority=120)),
                           rx_socket=sid, tx_socket=sid, src=OURS, auth_type=1,
                           auth_pass=b"x", now_ns=down + MS)
    assert bridge.machine(0).effective_priority == 100
