"""A CLOCK_MONOTONIC timerfd: the fast path's wake-up with nanosecond resolution.

    tfd = TimerFd()                      # OSError if the kernel has none
    loop.add_reader(tfd.fd, on_expiry)   # readable once the deadline has passed
    tfd.arm(deadline_ns)                 # absolute, time.monotonic_ns() clock; 0 disarms
    tfd.clear()                          # in on_expiry: consume the expiry count
    tfd.close()

The loop's own timers (call_at) go through libuv, whose clock and poll
timeout are whole milliseconds: an advert due at t leaves anywhere in
[t - 1 ms, t + 1 ms), and a master's advert intervals jitter by a
millisecond (issue 6: lateness p99 <= 1 ms at 500 instances x 10 ms).  A
timerfd armed at the wheel's next deadline (TFD_TIMER_ABSTIME) makes epoll
return at that deadline, to the kernel's timer slack.  Python 3.11 has no
os.timerfd_create, so the two calls go through ctypes: one settime per
change of the next deadline, not per packet.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = None


def _lib():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        lib.timerfd_create.argtypes = (ctypes.c_int, ctypes.c_int)
        lib.timerfd_create.restype = ctypes.c_int
        lib.timerfd_settime.argtypes = (ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(_Itimerspec), ctypes.c_void_p)
        lib.timerfd_settime.restype = ctypes.c_int
        _libc = lib
    return _libc


class TimerFd:
    """See the module docstring."""

    __slots__ = ("fd", "_spec", "_settime", "armed_ns")

    def __init__(self) -> None:
        lib = _lib()
        fd = lib.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "timerfd_create: %s" % os.strerror(err))
        self.fd = fd
        self._spec = _Itimerspec()
        self._settime = lib.timerfd_settime
        self.armed_ns = 0

    def arm(self, deadline_ns: int) -> None:
        """Expire at `deadline_ns` (CLOCK_MONOTONIC; one already past expires at
        once); 0 disarms."""
        if deadline_ns < 0:
            raise ValueError("deadline must be >= 0 ns, got %r" % (deadline_ns,))
        if deadline_ns == 0:
            value = self._spec.it_value
            value.tv_sec = value.tv_nsec = 0
            flags = 0
        else:
            value = self._spec.it_value
            value.tv_sec, value.tv_nsec = divmod(max(deadline_ns, 1), 1_000_000_000)
            flags = _TFD_TIMER_ABSTIME
        if self._settime(self.fd, flags, ctypes.byref(self._spec), None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "timerfd_settime: %s" % os.strerror(err))
        self.armed_ns = deadline_ns

    def clear(self) -> int:
        """Consume the expirations since the last clear (0 if none)."""
        try:
            return int.from_bytes(os.read(self.fd, 8), "little")
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return 0
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def timerfd_or_none():
    """A TimerFd, or None where the kernel or libc has none (the loop's timers then)."""
    try:
        return TimerFd()
    except (OSError, AttributeError):
        return None


__all__ = ["TimerFd", "timerfd_or_none"]
