"""Issue 6 takeover: tick(now, max_escalations) runs a burst of Master_Down_Timer
expiries in slices (the compiled fast path and its pure-Python twin alike),
and the loop driver gives the loop back between slices."""

import asyncio
import ipaddress

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.daemon.fastpath_driver import FastPathDriver
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import InstanceParams, Startup, State, StateChanged, VrrpMachine

MS = 1_000_000
S = 1_000_000_000
OURS = "192.168.16.129"
N = 20


def params(k):
    return InstanceParams(name="VI_%d" % k, vrid=k + 1, version=2, priority=100,
                          advert_int_cs=100,
                          vips=(ipaddress.ip_address("10.9.0.%d" % (k + 1)),),
                          primary_address=ipaddress.ip_address(OURS), garp_master_delay_ns=0)


class Recorder:
    def __init__(self):
        self.masters = []           # (index, now) of each transition to MASTER

    def __call__(self, index, now, actions):
        for a in actions:
            if type(a) is StateChanged and a.new is State.MASTER:
                self.masters.append((index, now))


def backups(cls):
    """N backups started together at t=0 (all Master_Down_Timers due at once)."""
    fp = cls(capture=True)
    rec = Recorder()
    bridge = FastPathBridge(fp, rec, strict=True)
    sid = fp.add_socket(-1, 4)
    for k in range(N):
        bridge.add_instance(k, VrrpMachine(params(k)), rx_socket=sid, tx_socket=sid, src=OURS)
        bridge.deliver(k, Startup(), 0)
    return fp, bridge, rec


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
def test_a_budget_slices_the_burst_in_order(cls):
    fp, bridge, rec = backups(cls)
    due = fp.next_deadline()
    late = due + 10 * MS
    fp.tick(late, 3)
    assert len(rec.masters) == 3
    assert fp.next_deadline() <= late            # the rest stay due
    slices = [3]
    while fp.next_deadline() is not None and fp.next_deadline() <= late + 100 * MS:
        before = len(rec.masters)
        fp.tick(late + len(slices) * MS, 3)
        slices.append(len(rec.masters) - before)
        if len(rec.masters) == N:
            break
    assert sum(slices) == N and max(slices) == 3
    # the order and the clock of each slice: the same instances as one unbudgeted tick
    ref_fp, _ref_bridge, ref = backups(cls)
    ref_fp.tick(late)
    assert [i for i, _ in rec.masters] == [i for i, _ in ref.masters]
    assert sorted({t for _, t in rec.masters}) != sorted({t for _, t in ref.masters})
    assert bridge.inconsistencies == 0


@pytest.mark.parametrize("cls", [FastPath, SlowPath])
@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_a_bad_budget_is_refused(cls, bad):
    fp = cls(capture=True)
    with pytest.raises((TypeError, ValueError), match="max_escalations"):
        fp.tick(None, bad)


def test_the_driver_lets_other_work_run_between_slices():
    async def main():
        loop = asyncio.get_running_loop()
        fp, bridge, rec = backups(FastPath)
        seen = []                                 # escalations done when a callback ran

        def other():
            seen.append(len(rec.masters))
            if len(rec.masters) < N:
                loop.call_soon(other)
        done = loop.create_future()

        def check(index, now, actions):
            rec(index, now, actions)
            if len(rec.masters) == N and not done.done():
                done.set_result(None)
        bridge._on_actions = check
        driver = FastPathDriver(fp, loop, bridge=bridge, escalation_budget=4)
        # the timers were armed at t=0: all of them are long due on this clock
        loop.call_soon(other)
        driver.start()
        await asyncio.wait_for(done, 5)
        driver.stop()
        return seen

    seen = asyncio.run(main())
    # the loop ran other callbacks while the burst was under way, not only after it
    assert any(0 < n < N for n in seen), seen


@pytest.mark.parametrize("bad", [0, -2, 2.0, False])
def test_the_driver_checks_its_budget(bad):
    with pytest.raises(ValueError, match="escalation_budget"):
        FastPathDriver(SlowPath(capture=True), None, escalation_budget=bad)
