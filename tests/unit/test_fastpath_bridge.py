"""FastPathBridge and FastPathDriver: machines linked to fast-path slots, on a loop.

No sockets: packets are injected, sends captured, time is explicit (except
the driver test on a real asyncio loop, which waits for events).
"""

import asyncio
import ipaddress

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert, parse_ipv4
from fastvrrp.daemon.fastpath_bridge import (TIMER_CODE, FastPathBridge, FastPathDriver,
                                             ReplayMismatch)
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import (AddVips, ArmTimer, Count, InstanceParams, Log, Notify, PriorityChanged,
                           SendAdvert, Shutdown, Startup, State, StateChanged, TimerKind,
                           VrrpMachine)

MS = 1_000_000
S = 1_000_000_000
OURS = "192.168.16.129"
MASTER_IP = "192.168.16.128"
VIP = "192.168.16.130"
MD = TIMER_CODE[TimerKind.MASTER_DOWN]


def params(**kw):
    base = dict(name="VI_1", vrid=66, version=2, priority=100, advert_int_cs=100,
                vips=(ipaddress.ip_address(VIP),), primary_address=ipaddress.ip_address(OURS),
                garp_master_delay_ns=0)
    base.update(kw)
    return InstanceParams(**base)


class Engine:
    def __init__(self):
        self.actions = []

    def __call__(self, index, now, actions):
        self.actions.extend((index, now, a) for a in actions)

    def of(self, kind):
        return [a for _i, _t, a in self.actions if type(a) is kind]


def linked(cls=FastPath, strict=True, auth=False, **kw):
    fp = cls(capture=True)
    engine = Engine()
    bridge = FastPathBridge(fp, engine, strict=strict)
    sid = fp.add_socket(-1, 4)
    extra = {"auth_type": 1, "auth_pass": b"1111"} if auth else {}
    bridge.add_instance(0, VrrpMachine(params(**kw)), rx_socket=sid, tx_socket=sid, src=OURS, **extra)
    return fp, bridge, engine, sid


def advert(priority=100, src=MASTER_IP, auth=False, **kw):
    extra = {"auth_type": 1, "auth_pass": b"1111"} if auth else {}
    return build_advert(2, 66, priority, 1, [VIP], src=src, ip_header=True, **extra, **kw)


def test_first_advert_teaches_the_master_then_c_settles():
    fp, bridge, engine, sid = linked()
    bridge.deliver(0, Startup(), S)
    assert not fp.slot_info(0)["rx_settle"]              # no master known yet
    fp.inject(sid, advert(), 2 * S)
    info = fp.slot_info(0)
    assert info["rx_settle"] and str(info["master"]) == MASTER_IP and info["master_priority"] == 100
    before = fp.stats()["python_escalations"]
    for i in range(3, 10):
        fp.inject(sid, advert(), i * S)
    assert fp.stats()["python_escalations"] == before      # steady state never enters Python
    machine = bridge.machine(0)                            # catch-up: the last settle replayed
    assert machine.timers[TimerKind.MASTER_DOWN] == 9 * S + machine.master_down_interval_ns
    assert fp.timer_deadline(0, MD) == machine.timers[TimerKind.MASTER_DOWN]
    assert bridge.counters(0)["advert_rcvd"] == 8
    assert bridge.inconsistencies == 0


def test_the_master_goes_quiet_and_the_backup_takes_over():
    fp, bridge, engine, sid = linked()
    bridge.deliver(0, Startup(), S)
    for i in range(2, 6):
        fp.inject(sid, advert(), i * S)
    down = fp.timer_deadline(0, MD)
    fp.tick(down)                                           # RFC 5798 §6.4.2 Master_Down_Timer fires
    assert bridge.machine(0).state is State.MASTER
    assert [a.new for a in engine.of(StateChanged)] == [State.BACKUP, State.MASTER]
    assert engine.of(AddVips) and [n.state.value for n in engine.of(Notify)] == ["BACKUP", "MASTER"]
    sent = fp.take_captured()
    assert [(s.queued_ns, parse_ipv4(s.packet).priority) for s in sent] == [(down, 100)]
    assert fp.slot_info(0)["tx_settle"]
    fp.tick(down + S)
    fp.tick(down + 2 * S)
    assert [s.queued_ns for s in fp.take_captured()] == [down + S, down + 2 * S]
    assert fp.slot_stats(0)["tx_settled"] == 2
    # the engine never sees what the bridge executes itself
    assert not [a for _i, _t, a in engine.actions if type(a) in (ArmTimer, SendAdvert, Count)]


def test_a_raised_priority_stops_the_settle_of_a_lower_master():
    fp, bridge, engine, sid = linked()
    bridge.deliver(0, Startup(), S)
    fp.inject(sid, advert(101), 2 * S)
    fp.inject(sid, advert(101), 3 * S)
    assert fp.slot_stats(0)["rx_settled"] == 1
    bridge.deliver(0, PriorityChanged(2), 3 * S)          # 102 > 101: preempt (RFC 5798 §6.4.2)
    deadline = fp.timer_deadline(0, MD)
    fp.inject(sid, advert(101), 4 * S)                    # discarded by the machine, not settled
    assert fp.timer_deadline(0, MD) == deadline
    fp.tick(deadline)
    assert bridge.machine(0).state is State.MASTER
    assert parse_ipv4(fp.take_captured()[0].packet).priority == 102


def test_priority_zero_then_the_master_again():
    fp, bridge, engine, sid = linked()
    bridge.deliver(0, Startup(), S)
    fp.inject(sid, advert(), 2 * S)
    fp.inject(sid, advert(0), 3 * S)                      # RFC 5798 §6.4.2: Skew_Time
    m = bridge.machine(0)
    assert fp.timer_deadline(0, MD) == 3 * S + m.skew_time_ns
    assert not fp.slot_info(0)["rx_settle"]               # armed from Skew_Time, not the interval
    fp.inject(sid, advert(), 3 * S + MS)                  # escalated: back to Master_Down_Interval
    assert fp.slot_info(0)["rx_settle"]
    fp.inject(sid, advert(), 4 * S)
    assert fp.slot_stats(0)["rx_settled"] == 1


def test_bad_packets_are_counted_in_c_and_logged_once():
    fp, bridge, engine, sid = linked(auth=True)
    bridge.deliver(0, Startup(), S)
    for i in range(10):
        fp.inject(sid, advert(), 2 * S + i)               # no password: auth type mismatch
    logs = [a.text for a in engine.of(Log) if "dropped" in a.text]
    assert logs == ["(VI_1) dropped VRRP packet from %s: authentication type differs from ours"
                    % MASTER_IP]
    counters = bridge.counters(0)
    assert counters["authtype_mismatch"] == 10 and counters["advert_rcvd"] == 0


def test_counters_merge_c_and_the_machine():
    fp, bridge, engine, sid = linked(priority=255)        # the address owner starts as master
    bridge.deliver(0, Startup(), S)
    for i in range(1, 5):
        fp.tick(i * S + 1000)                              # at each Adver_Timer deadline
    bridge.deliver(0, Shutdown(), 5 * S)                  # RFC 5798 §6.4.3: priority 0
    sent = [parse_ipv4(s.packet).priority for s in fp.take_captured()]
    assert sent == [255, 255, 255, 255, 0]
    c = bridge.counters(0)
    assert (c["become_master"], c["advert_sent"], c["pri_zero_sent"]) == (1, 5, 1)


def test_strict_bridge_catches_a_wrong_settle():
    fp, bridge, engine, sid = linked()
    bridge.deliver(0, Startup(), S)
    fp.inject(sid, advert(), 2 * S)
    fp.update_slot(0, master_down_ns=1234)                # C now re-arms at a wrong deadline
    fp.inject(sid, advert(), 3 * S)
    with pytest.raises(ReplayMismatch):
        bridge.machine(0)


def test_lenient_bridge_follows_the_machine_after_a_wrong_settle():
    fp, bridge, engine, sid = linked(strict=False)
    bridge.deliver(0, Startup(), S)
    fp.inject(sid, advert(), 2 * S)
    fp.update_slot(0, master_down_ns=1234)
    fp.inject(sid, advert(), 3 * S)
    machine = bridge.machine(0)
    assert bridge.inconsistencies == 1
    assert fp.timer_deadline(0, MD) == machine.timers[TimerKind.MASTER_DOWN] == \
        3 * S + machine.master_down_interval_ns


def test_add_instance_errors():
    fp = FastPath(capture=True)
    bridge = FastPathBridge(fp)
    sid = fp.add_socket(-1, 4)
    with pytest.raises(TypeError):
        bridge.add_instance(0, params(), rx_socket=sid, tx_socket=sid, src=OURS)
    with pytest.raises(ValueError, match="at least one VIP"):
        bridge.add_instance(0, VrrpMachine(params(vips=())), rx_socket=sid, tx_socket=sid, src=OURS)
    bridge.add_instance(0, VrrpMachine(params()), rx_socket=sid, tx_socket=sid, src=OURS)
    with pytest.raises(ValueError, match="already"):
        bridge.add_instance(0, VrrpMachine(params()), rx_socket=sid, tx_socket=sid, src=OURS)
    with pytest.raises(KeyError):
        bridge.deliver(3, Startup())
    bridge.remove_instance(0)
    assert len(bridge) == 0


def test_source_address_change_rebuilds_and_tells_the_machine():
    fp, bridge, engine, sid = linked()
    bridge.set_source_address(0, ipaddress.ip_address("192.168.16.200"), S)
    assert str(parse_ipv4(fp.slot_info(0)["packet"]).src) == "192.168.16.200"


# ------------------------------------------------------------------ the driver

class CountingTicks:
    """Delegates to the fast path; resolves `done` after `n` settled adverts."""

    def __init__(self, fp, n, loop):
        self._fp, self._n = fp, n
        self.done = loop.create_future()

    def tick(self, now):
        result = self._fp.tick(now)
        if self._fp.stats()["tx_settled"] >= self._n and not self.done.done():
            self.done.set_result(now)
        return result

    def __getattr__(self, name):
        return getattr(self._fp, name)


def test_driver_runs_the_wheel_on_a_real_loop():
    async def main():
        loop = asyncio.get_running_loop()
        fp = FastPath(capture=True)
        bridge = FastPathBridge(fp, strict=True)
        sid = fp.add_socket(-1, 4)
        bridge.add_instance(0, VrrpMachine(params(version=3, priority=255, advert_int_cs=1)),
                            rx_socket=sid, tx_socket=sid, src=OURS)
        counting = CountingTicks(fp, 20, loop)
        driver = FastPathDriver(counting, loop, bridge=bridge)
        driver.start()
        bridge.deliver(0, Startup())
        await asyncio.wait_for(counting.done, 10)
        driver.stop()
        return fp

    fp = asyncio.run(main())
    sent = fp.take_captured()
    assert len(sent) >= 21
    gaps = [b.queued_ns - a.queued_ns for a, b in zip(sent[1:], sent[2:])]
    assert min(gaps) >= 10 * MS                            # never before the interval is over
    assert all(parse_ipv4(s.packet).priority == 255 for s in sent)


class FakeLoop:
    def __init__(self):
        self.readers = {}
        self.timers = []
        self.now = 0.0

    def time(self):
        return self.now

    def add_reader(self, fd, cb, *args):
        self.readers[fd] = (cb, args)

    def remove_reader(self, fd):
        del self.readers[fd]

    def call_at(self, when, cb):
        handle = FakeHandle(when, cb)
        self.timers.append(handle)
        return handle

    def call_later(self, delay, cb):
        return self.call_at(self.now + delay, cb)


class FakeHandle:
    def __init__(self, when, cb):
        self.when, self.cb, self.cancelled = when, cb, False

    def cancel(self):
        self.cancelled = True


class FakeStats:
    def __init__(self, fp):
        self._fp = fp
        self.wakeups = 0
        self.packets = 0

    def stats(self, drops=True):
        return {"rx_wakeups": self.wakeups, "rx_packets": self.packets}

    def __getattr__(self, name):
        return getattr(self._fp, name)


def test_driver_switches_between_readiness_and_draining():
    loop = FakeLoop()
    fp = FakeStats(FastPath())
    driver = FastPathDriver(fp, loop, window_ns=100 * MS, precise_timer=False)   # call_at path
    driver.add_socket(0, 7)
    driver.start()
    assert 7 in loop.readers and not driver.polling
    check = [h for h in loop.timers if h.cb == driver._check_mode][-1]
    fp.wakeups += 500                                      # 5,000 wake-ups/s: busy
    fp.packets += 5000
    check.cb()
    assert driver.polling and 7 not in loop.readers
    poll = [h for h in loop.timers if h.cb == driver._on_timer and not h.cancelled]
    assert len(poll) == 1                                  # the tick drains every poll_ns
    fp.packets += 10                                       # 100 packets/s: idle
    [h for h in loop.timers if h.cb == driver._check_mode][-1].cb()
    assert not driver.polling and 7 in loop.readers
    driver.stop()
    assert not loop.readers


def test_reference_twin_runs_under_the_bridge():
    fp, bridge, engine, sid = linked(SlowPath)
    bridge.deliver(0, Startup(), S)
    for i in range(2, 6):
        fp.inject(sid, advert(), i * S)
    assert fp.stats()["python_escalations"] == 4 and fp.stats()["rx_settled"] == 0
    assert bridge.counters(0)["advert_rcvd"] == 4
