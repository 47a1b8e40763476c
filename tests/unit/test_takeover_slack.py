"""Issue 6 takeover: a late Master_Down_Timer expiry is handled at its deadline
within the late slack and half the advert interval (both fast-path twins), so
a burst handled late keeps the new masters' advert phases."""

import ipaddress

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.daemon.fastpath_driver import LATE_SLACK_NS
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import (InstanceParams, Startup, State, StateChanged, TimerKind,
                           VrrpMachine)

MS = 1_000_000
OURS = "192.168.16.129"


class Recorder:
    def __init__(self):
        self.actions = []

    def __call__(self, index, now, actions):
        self.actions.extend((now, a) for a in actions)


def backup(cls, advert_int_cs, slack_ns):
    fp = cls(capture=True, late_slack_ns=slack_ns)
    rec = Recorder()
    bridge = FastPathBridge(fp, rec, strict=True)
    sid = fp.add_socket(-1, 4)
    p = InstanceParams(name="VI_1", vrid=1, version=3, priority=100, advert_int_cs=advert_int_cs,
                       vips=(ipaddress.ip_address("10.9.0.1"),),
                       primary_address=ipaddress.ip_address(OURS), garp_master_delay_ns=0)
    bridge.add_instance(0, VrrpMachine(p), rx_socket=sid, tx_socket=sid, src=OURS)
    bridge.deliver(0, Startup(), 0)
    return fp, bridge, rec


def took_over_at(fp, bridge, rec, late_ns):
    due = fp.next_deadline()
    fp.tick(due + late_ns)
    [(now, _)] = [(t, a) for t, a in rec.actions
                  if type(a) is StateChanged and a.new is State.MASTER]
    adver = bridge.machine(0).timers[TimerKind.ADVER]
    return due, now, adver


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
def test_late_within_the_slack_is_handled_at_the_deadline(cls):
    fp, bridge, rec = backup(cls, 100, LATE_SLACK_NS)         # 1 s adverts
    due, now, adver = took_over_at(fp, bridge, rec, 30 * MS)
    assert now == due                                        # not the 30 ms later tick
    assert adver == due + 1000 * MS                          # the phase is kept


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
def test_later_than_the_slack_is_handled_when_it_runs(cls):
    fp, bridge, rec = backup(cls, 100, 20 * MS)
    due, now, adver = took_over_at(fp, bridge, rec, 30 * MS)
    assert now == due + 30 * MS
    assert adver == now + 1000 * MS


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
@pytest.mark.parametrize("late_ms, at_deadline", [(4, True), (6, False)])
def test_half_the_advert_interval_caps_the_slack(cls, late_ms, at_deadline):
    """10 ms adverts: never more than 5 ms back, whatever the slack (no catch-up burst)."""
    fp, bridge, rec = backup(cls, 1, 10_000 * MS)
    due, now, _adver = took_over_at(fp, bridge, rec, late_ms * MS)
    assert now == (due if at_deadline else due + late_ms * MS)
