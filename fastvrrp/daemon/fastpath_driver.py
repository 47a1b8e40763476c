"""The loop driver of a fast path: wheel deadlines and socket readiness on a loop.

    driver = FastPathDriver(fp, loop, bridge=bridge)   # bridge: its timer pokes reach us
    driver.add_socket(sid_rx, rx.fileno())
    driver.start()
    ...
    driver.stop()

One timer is armed for the wheel's next deadline, never a fixed tick when
idle: a CLOCK_MONOTONIC timerfd watched by the loop (timerfd.py: libuv's own
timers are whole milliseconds, a millisecond of jitter on every advert), or
the loop's call_at where there is no timerfd; receive sockets are served by readiness callbacks while
the traffic is light and drained on the tick while it is heavy (DESIGN.md
"Timers").  The machines' side is the bridge's (fastpath_bridge.py).
"""

from __future__ import annotations

from typing import Optional, Sequence

# The engine's fast-path late slack: a timer handled up to this late (and up
# to half its instance's advert interval) is handled at its deadline.  A
# burst of transitions that takes tens of ms to run then keeps the instances'
# phases (a new master's Adver_Timer is armed from its Master_Down_Timer's
# deadline, not from when its turn came), so the next failover finds the
# adverts still spread (issue 6).
LATE_SLACK_NS = 50_000_000

# Fewer instances than this with one advert interval start together, as in
# keepalived; from this many on their Startups are spread (startup_phases).
SPREAD_MIN_INSTANCES = 32


def startup_phases(intervals_ns: Sequence[int], *, minimum: int = SPREAD_MIN_INSTANCES) -> list:
    """Start offsets (ns) that spread instances over one advert interval.

    intervals_ns: each instance's advertisement interval, in start order.
    The k-th of the n instances sharing an interval I starts k*I//n after the
    first, when n >= `minimum` (else all at 0): a master's adverts then leave
    spread over the interval instead of all in one wheel tick, and when that
    master dies its backups' Master_Down_Timers (RFC 5798 §6.4.2) expire
    spread over one interval, as behind a keepalived master, instead of all
    in one tick (issue 6: 1000 transitions queued behind each other).
    """
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise ValueError("minimum must be an int >= 1, got %r" % (minimum,))
    counts: dict = {}
    for interval in intervals_ns:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise ValueError("an advert interval must be a positive int of ns, got %r"
                             % (interval,))
        counts[interval] = counts.get(interval, 0) + 1
    seen: dict = {}
    out = []
    for interval in intervals_ns:
        n = counts[interval]
        k = seen.get(interval, 0)
        seen[interval] = k + 1
        out.append(k * interval // n if n >= minimum else 0)
    return out


def startup_time(at_ns: int, now_ns: int, interval_ns: int) -> int:
    """The time a spread Startup planned for `at_ns` is handled at, when its
    loop callback runs at `now_ns`: the planned time while the loop is less
    than one advert interval late (a start-up whose Startups cost more than
    the spread allows keeps its phases; RFC 5798 §6.4.1 Master_Down_Timer then
    still runs at least Master_Down_Interval - Advertisement_Interval from
    now, so a live master's next advert comes first), else `now_ns`."""
    for name, value in (("at_ns", at_ns), ("now_ns", now_ns), ("interval_ns", interval_ns)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError("%s must be a non-negative int of ns, got %r" % (name, value))
    return at_ns if now_ns - at_ns < interval_ns else now_ns


class FastPathDriver:
    """Runs a fast path on an asyncio/uvloop loop: one loop timer (call_at) for
    the wheel's next deadline, readiness callbacks while receiving is light,
    draining on a periodic tick while it is heavy (DESIGN.md "Timers").

    Mode: every `window_ns` it compares the readiness wake-ups and packets of
    the window with `busy_wakeups_per_s` (switch to draining on the tick, every
    `poll_ns`, default one wheel tick, with the readers removed) and
    `idle_packets_per_s` (back to readiness callbacks).

    `escalation_budget` (None: unlimited): at most that many timer expiries
    escalate into Python per tick call; the timers left due run on the next
    loop turn, after the loop's other work (a burst of transitions in slices,
    each slice's machines on the clock of its own slice).  The engine does not
    use it yet: with 8, a 1000-instance takeover got its first VIP up sooner
    but its last later (each slice pays a loop turn's fixed costs, and the
    burst's log lines are no longer deferred: AfterBatch counts per turn).

    A loop timer that fires up to one tick early (libuv's millisecond
    timers) is treated as on time: the tick runs at the deadline it was armed
    for, never at a time before it.
    """

    def __init__(self, fastpath, loop, *, bridge=None,
                 poll_ns: Optional[int] = None, window_ns: int = 100_000_000,
                 busy_wakeups_per_s: int = 2000, idle_packets_per_s: int = 1000,
                 escalation_budget: Optional[int] = None, precise_timer: bool = True):
        if escalation_budget is not None and (not isinstance(escalation_budget, int)
                                              or isinstance(escalation_budget, bool)
                                              or escalation_budget < 1):
            raise ValueError("escalation_budget must be an int >= 1 or None, got %r"
                             % (escalation_budget,))
        self.escalation_budget = escalation_budget
        self.fp = fastpath
        self.loop = loop
        self.poll_ns = int(poll_ns if poll_ns is not None else fastpath.tick_ns)
        if self.poll_ns <= 0 or window_ns <= 0:
            raise ValueError("poll_ns and window_ns must be positive")
        self.window_ns = int(window_ns)
        self.busy_wakeups_per_s = busy_wakeups_per_s
        self.idle_packets_per_s = idle_packets_per_s
        self.polling = False
        self.running = False
        self.mode_switches = 0
        self._readers: dict[int, int] = {}       # socket id -> fd
        self._handle = None
        self._target: Optional[int] = None
        self._mode_handle = None
        self._last = (0, 0)
        self._tfd = None
        if precise_timer:
            from .timerfd import timerfd_or_none
            self._tfd = timerfd_or_none()
        if bridge is not None:
            bridge.timers_changed = self.poke

    @property
    def precise(self) -> bool:
        """True: the wheel's deadlines wake the loop through a timerfd (ns)."""
        return self._tfd is not None

    def add_socket(self, sid: int, fd: int) -> None:
        """A receive socket to watch (its readiness, while not polling)."""
        if sid in self._readers:
            raise ValueError("socket %r is already watched" % (sid,))
        self._readers[sid] = fd
        if self.running and not self.polling:
            self.loop.add_reader(fd, self.fp.on_readable, sid)

    def remove_socket(self, sid: int) -> None:
        fd = self._readers.pop(sid)
        if self.running and not self.polling:
            self.loop.remove_reader(fd)

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self._add_readers()
        st = self.fp.stats(drops=False)
        self._last = (st["rx_wakeups"], st["rx_packets"])
        self._mode_handle = self.loop.call_later(self.window_ns / 1e9, self._check_mode)
        if self._tfd is not None:
            self.loop.add_reader(self._tfd.fd, self._on_timerfd)
        self._arm()

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        if not self.polling:
            self._remove_readers()
        self.polling = False
        for handle in (self._handle, self._mode_handle):
            if handle is not None:
                handle.cancel()
        self._handle = self._mode_handle = None
        self._target = None
        if self._tfd is not None:
            self.loop.remove_reader(self._tfd.fd)
            self._tfd.close()          # a driver is not restarted; a new one is made
            self._tfd = None

    def poke(self) -> None:
        """A timer may have been armed earlier than the loop timer: re-arm it."""
        if not self.running:
            return
        deadline = self.fp.next_deadline()
        if deadline is not None and (self._target is None or deadline < self._target):
            self._arm()

    def _add_readers(self) -> None:
        for sid, fd in self._readers.items():
            self.loop.add_reader(fd, self.fp.on_readable, sid)

    def _remove_readers(self) -> None:
        for fd in self._readers.values():
            self.loop.remove_reader(fd)

    def _arm(self, now: Optional[int] = None) -> None:
        if not self.running:
            return
        deadline = self.fp.next_deadline()
        if self.polling:
            poll = (now if now is not None else self.fp.clock()) + self.poll_ns
            deadline = poll if deadline is None else min(deadline, poll)
        if self._tfd is not None:
            if deadline != self._target or self._tfd.armed_ns != (deadline or 0):
                self._target = deadline
                self._tfd.arm(deadline or 0)
            return
        if self._handle is not None:
            if deadline == self._target:
                return
            self._handle.cancel()
            self._handle = None
        self._target = deadline
        if deadline is not None:
            delay = (deadline - self.fp.clock()) / 1e9
            self._handle = self.loop.call_at(self.loop.time() + max(delay, 0.0), self._on_timer)

    def _on_timerfd(self) -> None:
        if not self._tfd.clear():
            return                         # re-armed since it became readable
        self._tfd.armed_ns = 0             # expired: the next _arm sets it again
        self._on_timer()

    def _on_timer(self) -> None:
        self._handle = None
        now = self.fp.clock()
        if self._target is not None and now < self._target:
            now = self._target             # an early loop timer is on time
        try:
            if self.escalation_budget is None:
                self.fp.tick(now)
            else:
                self.fp.tick(now, self.escalation_budget)
        finally:
            self._arm(now)      # timers left due (budget spent): at once, after other work

    def _check_mode(self) -> None:
        if not self.running:
            return
        st = self.fp.stats(drops=False)
        wakeups, packets = st["rx_wakeups"], st["rx_packets"]
        per_s = 1e9 / self.window_ns
        busy = (wakeups - self._last[0]) * per_s > self.busy_wakeups_per_s
        idle = (packets - self._last[1]) * per_s < self.idle_packets_per_s
        self._last = (wakeups, packets)
        if not self.polling and busy:
            self._remove_readers()
            self.polling = True
            self.mode_switches += 1
            self._arm()
        elif self.polling and idle:
            self.polling = False
            self._add_readers()
            self.mode_switches += 1
            self._arm()
        self._mode_handle = self.loop.call_later(self.window_ns / 1e9, self._check_mode)


__all__ = ["LATE_SLACK_NS", "SPREAD_MIN_INSTANCES", "FastPathDriver", "startup_phases",
           "startup_time"]
