"""GARP / unsolicited NA rounds of many instances in one burst, first rounds first.

    batch = GarpBatch(announcer)
    sent = await batch.announce([((ifindex, mac), [vip, ...]), ...], repeat=5,
                                live=lambda: rt.vips_wanted)

RFC 5798 §6.4.1 / §6.4.2 (Transition to Master) has a new master announce
each VIP; keepalived sends `garp_master_repeat` rounds back to back at the
transition.  When a thousand instances become MASTER in the same
millisecond (a dead master, issue 6), sending each instance's rounds in turn
puts the last VIP's first GARP behind 5 x 999 frames.  So each turn of the
loop sends, through Announcer.send_checked (each interface looked up once per
round): first the round 1 of every announce() made since the last turn, then
the next round of every instance already announcing.  The repeats of one
transition thus follow on the next turns of the loop (a millisecond or so
apart instead of back to back), and the first GARP of an instance that
became MASTER a turn later is never queued behind them.  No round is dropped
or added: each instance still sends exactly `repeat` rounds.

While the daemon is in a burst of transitions (the announcer's `hurry()`,
the engine's AfterBatch.bursting: a dead master whose thousand instances
expire one after another over an advert interval), only first rounds go out:
the repeats wait until the burst is over, at most `repeat_hold_s` after the
instance's first round, so every new master's first GARP leaves without
waiting behind the repeats of the ones before it (issue 6).

`live()` is asked before each of an instance's rounds: an instance that left
MASTER meanwhile sends no more (as keepalived stops its GARP burst).  The
future of announce() gives the number of rounds sent for that call; errors
are counted by the Announcer and never raised.
"""

import asyncio
import logging

log = logging.getLogger("fastvrrp.host")

REPEAT_HOLD_S = 0.3         # repeats wait for a burst's end at most this long
HOLD_RETRY_S = 0.002        # held repeats are looked at again this often


class _Entry:
    __slots__ = ("groups", "repeat", "live", "future", "rounds", "first_at")

    def __init__(self, groups, repeat, live, future):
        self.groups, self.repeat, self.live, self.future = groups, repeat, live, future
        self.rounds = 0
        self.first_at = 0.0         # loop time of the first round


class GarpBatch:
    """See the module docstring."""

    def __init__(self, announcer, *, repeat_hold_s=REPEAT_HOLD_S):
        self.announcer = announcer
        self.repeat_hold_s = float(repeat_hold_s)
        self._queue = []            # announce() calls not started
        self._going = []            # started, rounds left
        self._handle = None
        self._timer = False         # _handle is the held repeats' timer, not a call_soon
        self.bursts = 0             # flushes that sent something
        self.largest = 0            # most instances in one flush
        self.held = 0               # flushes that held repeats back (a burst)

    @property
    def pending(self):
        """announce() calls with rounds still to send."""
        return len(self._queue) + len(self._going)

    def announce(self, groups, repeat, *, live=None):
        """Queue `repeat` rounds of `groups` ([((ifindex, mac), [vip, ...])]) -> Future
        of the rounds sent.  Bad arguments raise ValueError at once.  Must be called
        from the running loop."""
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
            raise ValueError("repeat must be an int >= 0, got %r" % (repeat,))
        if live is not None and not callable(live):
            raise TypeError("live must be callable, got %r" % (live,))
        check = self.announcer.checked
        groups = [check(ifindex, mac, vips) for (ifindex, mac), vips in groups]
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not groups or repeat == 0:
            future.set_result(0)
            return future
        self._queue.append(_Entry(groups, repeat, live, future))
        if self._handle is None or self._timer:
            if self._handle is not None:
                self._handle.cancel()       # a first round does not wait for held repeats
            self._handle = loop.call_soon(self._flush)
            self._timer = False
        return future

    def _flush(self):
        self._handle = None
        self._timer = False
        loop = asyncio.get_running_loop()
        now = loop.time()
        new, self._queue = self._queue, []
        going, self._going = self._going, []
        hurry = self.announcer.hurry
        held = []
        if going and hurry is not None and hurry():
            # a burst: repeats wait (not longer than repeat_hold_s), first rounds go
            held = [e for e in going if now - e.first_at < self.repeat_hold_s]
            if held:
                self.held += 1
                going = [e for e in going if now - e.first_at >= self.repeat_hold_s]
        entries = new + going            # every first round, then the repeats
        if new:
            self.bursts += 1
            self.largest = max(self.largest, len(new))
        rounds, sending, done = [], [], []
        for entry in entries:
            if entry.live is not None and not entry.live():
                done.append(entry)           # left MASTER: no more rounds
                continue
            if not entry.rounds:
                entry.first_at = now
            entry.rounds += 1
            rounds.extend(entry.groups)
            (sending if entry.rounds < entry.repeat else done).append(entry)
        try:
            if rounds:
                self.announcer.send_checked(rounds)     # checked by announce()
        except Exception as exc:    # bad arguments: every waiter learns it, nothing raises here
            log.error("gratuitous ARP burst failed: %s", exc)
            for entry in entries + held:
                if not entry.future.done():
                    entry.future.set_exception(exc)
            return
        self._going = held + sending
        for entry in done:
            if not entry.future.done():
                entry.future.set_result(entry.rounds)
        if self._going and self._handle is None:
            if sending or not held:
                self._handle = loop.call_soon(self._flush)
            else:           # only held repeats: look again shortly, not every loop turn
                self._handle = loop.call_later(HOLD_RETRY_S, self._flush)
                self._timer = True

    def flush_now(self):
        """Send the first rounds queued so far now, not on the next loop turn (the
        instances already announcing get their next round with them, as on any turn)."""
        if self._queue and self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._flush()

    def close(self):
        """Drop what is queued (its waiters get 0 rounds)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        entries, self._queue = self._queue + self._going, []
        self._going = []
        for entry in entries:
            if not entry.future.done():
                entry.future.set_result(entry.rounds)


__all__ = ["GarpBatch", "HOLD_RETRY_S", "REPEAT_HOLD_S"]
