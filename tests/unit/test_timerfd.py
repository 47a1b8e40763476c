"""The fast path's timerfd wake-up (fastvrrp/daemon/timerfd.py) and the loop
driver on it: never before the deadline, disarmed means silent, and the
wheel's adverts keep their interval on a real loop."""

import asyncio
import select
import time

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.daemon.fastpath_driver import FastPathDriver
from fastvrrp.daemon.timerfd import TimerFd
from fastvrrp.reference.packet import parse_ipv4
from fastvrrp.vrrp import InstanceParams, Startup, VrrpMachine

MS = 1_000_000


def test_expires_at_its_deadline_never_before():
    tfd = TimerFd()
    try:
        for _ in range(5):
            deadline = time.monotonic_ns() + 3 * MS
            tfd.arm(deadline)
            ready, _, _ = select.select([tfd.fd], [], [], 5)
            woke = time.monotonic_ns()
            assert ready and woke >= deadline
            assert tfd.clear() == 1
            assert tfd.clear() == 0                  # consumed
    finally:
        tfd.close()


def test_disarmed_and_rearmed_later_stays_silent_until_then():
    tfd = TimerFd()
    try:
        tfd.arm(time.monotonic_ns() + 2 * MS)
        tfd.arm(0)                                   # disarmed before it expired
        assert select.select([tfd.fd], [], [], 0.05)[0] == []
        later = time.monotonic_ns() + 60 * MS
        tfd.arm(time.monotonic_ns() + 1 * MS)
        tfd.arm(later)                               # moved later: not at the first time
        ready, _, _ = select.select([tfd.fd], [], [], 5)
        assert ready and time.monotonic_ns() >= later
        with pytest.raises(ValueError):
            tfd.arm(-1)
    finally:
        tfd.close()


class Ticks:
    """The fast path, counting its ticks."""

    def __init__(self, fp, count, loop):
        self._fp, self.count, self.n = fp, count, 0
        self.done = loop.create_future()

    def tick(self, now=None, *budget):
        self.n += 1
        self._fp.tick(now, *budget)
        if self.n >= self.count and not self.done.done():
            self.done.set_result(None)

    def __getattr__(self, name):
        return getattr(self._fp, name)


def test_the_driver_wakes_at_deadlines_through_the_timerfd():
    import ipaddress
    ours = "192.168.16.129"
    params = InstanceParams(name="VI_1", vrid=1, version=3, priority=255, advert_int_cs=1,
                            vips=(ipaddress.ip_address("10.9.0.1"),),
                            primary_address=ipaddress.ip_address(ours))
    woken = []                       # (deadline the wake-up was armed for, real time)

    async def main():
        loop = asyncio.get_running_loop()
        fp = FastPath(capture=True)
        bridge = FastPathBridge(fp, strict=True)
        sid = fp.add_socket(-1, 4)
        bridge.add_instance(0, VrrpMachine(params), rx_socket=sid, tx_socket=sid, src=ours)
        ticks = Ticks(fp, 22, loop)
        driver = FastPathDriver(ticks, loop, bridge=bridge)
        assert driver.precise
        on_timer = driver._on_timer

        def spy():
            woken.append((driver._target, time.monotonic_ns()))
            on_timer()
        driver._on_timer = spy
        driver.start()
        bridge.deliver(0, Startup())
        await asyncio.wait_for(ticks.done, 10)
        driver.stop()
        return fp

    fp = asyncio.run(main())
    # a timerfd never wakes the loop before the deadline (libuv's millisecond
    # timers do, by up to a millisecond)
    assert len(woken) >= 20 and all(real >= target for target, real in woken), woken
    sent = fp.take_captured()
    gaps = [b.queued_ns - a.queued_ns for a, b in zip(sent[1:], sent[2:])]
    assert len(sent) >= 21 and min(gaps) >= 10 * MS
    assert all(parse_ipv4(s.packet).priority == 255 for s in sent)
