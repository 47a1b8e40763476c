"""The daemon's CPU scheduling: keepalived's `vrrp_rt_priority`, `vrrp_priority`,
`vrrp_rlimit_rttime` and `vrrp_no_swap` (global_defs; keepalived-vrrp.md §1).

    for level, line in apply(config.global_defs.other): log.log(level, line)

At 1,000 instances and centisecond intervals a Master_Down_Interval is
36 ms: a daemon that waits longer than that for a CPU while other work runs
loses its instances to the backup.  keepalived's answer, kept here:

  vrrp_rt_priority N   SCHED_RR at priority N (1..99) with SCHED_RESET_ON_FORK
                       on every thread the daemon has now, so the scripts it
                       starts run at the normal policy.  Threads started later
                       (a helper thread) begin at the normal policy too: the
                       event loop, the one that keeps time, is the main thread.
  vrrp_priority N      nice value N (-20..19) of every thread (Linux nice is
                       per thread), when no realtime priority is set.
  vrrp_rlimit_rttime U RLIMIT_RTTIME of U microseconds (realtime CPU without a
                       blocking call); keepalived's default of 10,000 us is
                       not imposed: one Python callback may legitimately run
                       longer, and SIGXCPU would kill the daemon.
  vrrp_no_swap         mlockall(MCL_CURRENT | MCL_FUTURE).
  vrrp_cpu_affinity C  the CPUs (numbers or ranges N-M) every thread may run on.

A setting the kernel refuses (no CAP_SYS_NICE, no memlock limit) is logged
and the daemon runs on, as keepalived does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource

_MCL_CURRENT, _MCL_FUTURE = 1, 2
_RLIMIT_RTTIME = getattr(resource, "RLIMIT_RTTIME", 15)


def _threads() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def _each_thread(call) -> list[str]:
    """Run call(tid) on every thread; the errors, one line per distinct one."""
    errors = []
    for tid in _threads():
        try:
            call(tid)
        except ProcessLookupError:
            continue                      # a thread that ended meanwhile
        except OSError as exc:
            text = exc.strerror or str(exc)
            if text not in errors:
                errors.append(text)
    return errors


def _mlockall() -> str | None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.mlockall(_MCL_CURRENT | _MCL_FUTURE) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def _cpus(words) -> set:
    """{cpu} of `vrrp_cpu_affinity` words ("0", "2-3"); ValueError if malformed."""
    out = set()
    for word in words:
        lo, _, hi = str(word).partition("-")
        first, last = int(lo), int(hi or lo)
        if first < 0 or last < first:
            raise ValueError("bad CPU %r" % (word,))
        out.update(range(first, last + 1))
    return out


def apply(other: dict) -> list[tuple[int, str]]:
    """Apply the scheduling keywords of `other` (GlobalDefs.other) to this
    process -> [(log level, line)] saying what was set or refused."""
    out = []
    rttime = other.get("vrrp_rlimit_rttime") or other.get("vrrp_rlimit_rtime")
    if rttime:
        try:
            resource.setrlimit(_RLIMIT_RTTIME, (int(rttime), int(rttime)))
            out.append((logging.INFO, "RLIMIT_RTTIME set to %d usecs" % int(rttime)))
        except (OSError, ValueError) as exc:
            out.append((logging.WARNING, "cannot set RLIMIT_RTTIME to %s: %s" % (rttime, exc)))
    rt = other.get("vrrp_rt_priority")
    nice = other.get("vrrp_priority")
    if rt:
        policy = os.SCHED_RR | os.SCHED_RESET_ON_FORK
        errors = _each_thread(lambda tid: os.sched_setscheduler(tid, policy,
                                                                os.sched_param(int(rt))))
        if errors:
            out.append((logging.WARNING, "cannot set realtime priority %d: %s"
                        % (int(rt), "; ".join(errors))))
        else:
            out.append((logging.INFO, "realtime priority %d (SCHED_RR) set" % int(rt)))
    elif nice is not None:
        errors = _each_thread(lambda tid: os.setpriority(os.PRIO_PROCESS, tid, int(nice)))
        if errors:
            out.append((logging.WARNING, "cannot set priority %d: %s"
                        % (int(nice), "; ".join(errors))))
        else:
            out.append((logging.INFO, "process priority %d set" % int(nice)))
    affinity = other.get("vrrp_cpu_affinity")
    if affinity:
        try:
            cpus = _cpus(affinity)
            errors = _each_thread(lambda tid: os.sched_setaffinity(tid, cpus))
        except ValueError as exc:
            errors = [str(exc)]
        if errors:
            out.append((logging.WARNING, "cannot set CPU affinity %s: %s"
                        % (" ".join(map(str, affinity)), "; ".join(errors))))
        else:
            out.append((logging.INFO, "CPU affinity set to %s" % sorted(cpus)))
    if other.get("vrrp_no_swap"):
        err = _mlockall()
        if err:
            out.append((logging.WARNING, "cannot lock the daemon's memory (vrrp_no_swap): %s"
                        % err))
        else:
            out.append((logging.INFO, "memory locked (vrrp_no_swap)"))
    return out


__all__ = ["apply"]
