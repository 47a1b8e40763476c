"""Work that can wait until a burst's host batches went out: log lines and notifies.

    after = AfterBatch(busy=lambda: netlink.busy or announcer.busy)
    if after.defer():                  # one call per batch of machine actions
        after.add(log.info, "%s", text)
    else:
        log.info("%s", text)
    ...
    after.flush()                      # at stop: everything deferred runs now

When a dead master makes a thousand backups expire in the same tick, or
over the same advert interval (their adverts were spread over it), every
transition's VIP add (nlbatch.py) and first GARP (garpbatch.py) should leave
before the thousand "Entering MASTER STATE" lines and notify scripts, which
cost more CPU than the host work itself (issue 6).  `defer()` counts the calls
made within `window_s` of the first of them: the first `immediate` run as
before, the rest (and anything after them while something is deferred, so
the order never changes) are queued.  While calls keep coming (`bursting`:
one deferred less than `window_s` ago) the queue waits; once the burst is
over and `busy()` has been false for two loop iterations in a row (the
netlink acks came back and the GARP bursts left) it runs, in order, in slices
of `idle_slice_s` per loop iteration; work older than `max_delay_s` runs
anyway, in slices of `slice_s`.  A long backlog (log lines can cost far more
than the host work, issue 6) thus never holds the loop, and the fast path's
adverts, for long.  A callback that raises is logged and the rest still run.
"""

import asyncio
import logging
import time
from collections import deque

log = logging.getLogger("fastvrrp.host")

IMMEDIATE = 16          # calls per window that are never deferred
WINDOW_S = 0.02         # ... the window: more calls than that within it make a burst
MAX_DELAY_S = 0.3       # nothing waits longer than this behind the host work
SLICE_S = 0.002         # deferred work run per loop iteration while the host is busy
IDLE_SLICE_S = 0.004    # ... and once it is idle (issue 6: a loop callback stays under ~5 ms)


class AfterBatch:
    """See the module docstring."""

    def __init__(self, busy, *, immediate=IMMEDIATE, window_s=WINDOW_S, max_delay_s=MAX_DELAY_S,
                 slice_s=SLICE_S, idle_slice_s=IDLE_SLICE_S, clock=time.monotonic):
        if not callable(busy):
            raise TypeError("busy must be callable, got %r" % (busy,))
        if not isinstance(immediate, int) or isinstance(immediate, bool) or immediate < 0:
            raise ValueError("immediate must be an int >= 0, got %r" % (immediate,))
        if not isinstance(max_delay_s, (int, float)) or max_delay_s < 0:
            raise ValueError("max_delay_s must be >= 0, got %r" % (max_delay_s,))
        if not isinstance(window_s, (int, float)) or window_s < 0:
            raise ValueError("window_s must be >= 0, got %r" % (window_s,))
        self.busy = busy
        self.immediate = immediate
        self.window_s = float(window_s)
        self.max_delay_s = float(max_delay_s)
        self.slice_s = float(slice_s)
        self.idle_slice_s = float(idle_slice_s)
        self.clock = clock
        self._calls = 0
        self._window_start = None   # clock of the window's first call
        self._last_deferred = None  # clock of the last call told to defer
        self._queue = deque()      # (queued at, fn, args)
        self._idle = 0
        self._handle = None
        self.deferred = 0       # callbacks deferred so far
        self.flushes = 0

    @property
    def pending(self):
        return len(self._queue)

    def defer(self):
        """Count one caller -> True if its work must be deferred (see the module docstring)."""
        now = self.clock()
        if self._queue:
            self._last_deferred = now
            return True
        if self._window_start is None or now - self._window_start >= self.window_s:
            self._window_start = now
            self._calls = 0
        self._calls += 1
        if self._calls > self.immediate and asyncio._get_running_loop() is not None:
            self._last_deferred = now
            return True
        return False            # (no loop: nothing to wait for)

    @property
    def bursting(self):
        """True while calls are being deferred (the last one less than window_s ago)."""
        return (self._last_deferred is not None
                and self.clock() - self._last_deferred < self.window_s)

    def add(self, fn, *args):
        """Queue fn(*args) to run after the host work."""
        if not self._queue:
            self._idle = 0
            self._schedule()
        self._queue.append((self.clock(), fn, args))
        self.deferred += 1

    def flush(self):
        """Run everything queued now, in order."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        queue, self._queue = self._queue, deque()
        if queue:
            self.flushes += 1
        for _at, fn, args in queue:
            self._run(fn, args)

    @staticmethod
    def _run(fn, args):
        try:
            fn(*args)
        except Exception:
            log.exception("deferred work after a host burst failed")

    # ------------------------------------------------------------ internals
    def _schedule(self):
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self._check)

    def _check(self):
        self._handle = None
        if not self._queue:
            return
        if self.busy():
            self._idle = 0
        else:
            self._idle += 1
        now = self.clock()
        quiet = self._idle >= 2 and not self.bursting
        if quiet or now - self._queue[0][0] >= self.max_delay_s:
            self.flushes += 1
            end = now + (self.idle_slice_s if quiet else self.slice_s)
            while self._queue:
                _at, fn, args = self._queue.popleft()
                self._run(fn, args)
                if self.clock() >= end:
                    break
        if self._queue:
            self._schedule()


__all__ = ["AfterBatch", "IMMEDIATE", "MAX_DELAY_S", "WINDOW_S"]
