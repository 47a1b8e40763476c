"""Bounded polling for conditions that raise no event.

Prefer an event (a line on a pipe, a netlink notification); where none exists
(a file growing, a daemon reaching a state), poll with a deadline:

    n = wait_for(lambda: len(capture.packets()) >= 3 or None,
                 timeout=5, what="3 adverts on the capture")

`wait_for` returns the first truthy value `condition()` gives, or raises
`WaitTimeout` naming what was awaited and the last value seen.
"""

import time


class WaitTimeout(TimeoutError):
    """The condition did not hold before the deadline."""


def wait_for(condition, timeout, *, interval=0.005, max_interval=0.1, what=None):
    """Poll `condition()` until it returns a truthy value; return that value.

    The first poll is immediate; the interval doubles from `interval` up to
    `max_interval`.  An exception raised by `condition` propagates at once.
    Raises WaitTimeout after `timeout` seconds.
    """
    if timeout is None or timeout < 0:
        raise ValueError("wait_for: timeout must be a number >= 0, got %r" % (timeout,))
    if interval <= 0 or max_interval < interval:
        raise ValueError("wait_for: need 0 < interval <= max_interval")
    deadline = time.monotonic() + timeout
    delay = interval
    last = None
    while True:
        last = condition()
        if last:
            return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            name = what or getattr(condition, "__name__", "condition")
            raise WaitTimeout("timed out after %.3gs waiting for %s (last value: %r)"
                              % (timeout, name, last))
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval)
