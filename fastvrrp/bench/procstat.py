"""CPU and memory of a daemon's process tree, from /proc.

CPU is utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks)
summed over the process and its descendants (keepalived runs a parent and
a VRRP child; fastvrrp one process), sampled at the start and at the end of
a window:

    meter = CpuMeter(pid)          # samples the tree now
    ...                            # the window
    pct = meter.percent()          # % of ONE core over the window (2 busy cores: 200)

A process that exits inside the window contributes what it used up to the
start sample only; one born inside contributes everything it used (all of it
falls in the window).  RSS is VmRSS (kB) from /proc/PID/status, summed over
the tree (pages shared between a parent and its forked child count twice,
as `ps` would show them).
"""

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class ProcError(RuntimeError):
    """A /proc file is missing or not in the expected format."""


def parse_stat(text):
    """(pid, comm, state, ppid, utime, stime) from the text of /proc/PID/stat.

    The command name may hold spaces and parentheses: it runs from the first
    "(" to the last ")".
    """
    open_at, close_at = text.find("("), text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise ProcError("not a /proc/PID/stat line: %r" % text[:80])
    try:
        pid = int(text[:open_at])
        rest = text[close_at + 1:].split()
        # rest[0] is field 3 (state): field n is rest[n - 3]
        return pid, text[open_at + 1:close_at], rest[0], int(rest[1]), int(rest[11]), \
            int(rest[12])
    except (ValueError, IndexError):
        raise ProcError("not a /proc/PID/stat line: %r" % text[:80]) from None


def parse_vmrss_kb(text):
    """VmRSS in kB from the text of /proc/PID/status; 0 for a process without
    memory (a zombie or kernel thread has no VmRSS line)."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            if len(parts) != 3 or parts[2] != "kB":
                raise ProcError("unexpected VmRSS line: %r" % line)
            try:
                return int(parts[1])
            except ValueError:
                raise ProcError("unexpected VmRSS line: %r" % line) from None
    return 0


def _read(path):
    with open(path) as fh:
        return fh.read()


def stat(pid):
    """parse_stat of /proc/PID/stat, or None when the process is gone."""
    try:
        return parse_stat(_read("/proc/%d/stat" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_ticks(pid):
    """utime + stime of `pid` in clock ticks, or None when it is gone."""
    st = stat(pid)
    return None if st is None else st[4] + st[5]


def children(pid):
    """Direct children of `pid` (from /proc/PID/task/*/children, else a /proc scan)."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return []
    found = False
    for tid in tasks:
        try:
            text = _read("/proc/%d/task/%s/children" % (pid, tid))
        except FileNotFoundError:
            continue
        found = True
        out.extend(int(x) for x in text.split())
    if found:
        return out
    for entry in os.listdir("/proc"):                 # kernels without CONFIG_PROC_CHILDREN
        if entry.isdigit():
            st = stat(int(entry))
            if st is not None and st[3] == pid:
                out.append(st[0])
    return out


def tree(pid):
    """`pid` and all its live descendants (parents first); [] when pid is gone."""
    if stat(pid) is None:
        return []
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        if current in out:
            continue
        out.append(current)
        todo.extend(children(current))
    return out


def rss_kb(pid):
    """VmRSS of one process in kB (0 when it is gone)."""
    try:
        return parse_vmrss_kb(_read("/proc/%d/status" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return 0


def tree_rss_kb(pid):
    """VmRSS summed over the process tree of `pid`, kB."""
    return sum(rss_kb(p) for p in tree(pid))


def tree_ticks(pid):
    """{pid: utime + stime ticks} for the tree of `pid`."""
    out = {}
    for p in tree(pid):
        ticks = cpu_ticks(p)
        if ticks is not None:
            out[p] = ticks
    return out


def cpu_percent(before, after, seconds, tck=CLK_TCK):
    """% of one core used between two tree_ticks() samples `seconds` apart.

    A pid only in `after` was born in the window: all its ticks count.  A pid
    only in `before` exited: it adds nothing.  A pid whose ticks went down is
    a different process reusing the number: counted as new.
    """
    if seconds <= 0:
        raise ProcError("the window must last > 0 s, got %r" % (seconds,))
    used = 0
    for pid, ticks in after.items():
        start = before.get(pid, 0)
        used += ticks - start if ticks >= start else ticks
    return 100.0 * used / tck / seconds


class CpuMeter:
    """CPU % of one core of a process tree over a window (see the module docstring)."""

    def __init__(self, pid):
        self.pid = pid
        self.t0 = time.monotonic()
        self.before = tree_ticks(pid)
        if not self.before:
            raise ProcError("process %d is not running" % pid)

    def percent(self):
        """% of one core since construction (the tree is sampled again now)."""
        after = tree_ticks(self.pid)
        seconds = time.monotonic() - self.t0
        for pid in self.before:            # still there, though no longer below the root
            if pid not in after:
                ticks = cpu_ticks(pid)
                if ticks is not None:
                    after[pid] = ticks
        return cpu_percent(self.before, after, seconds)


def parse_machine_stat(text):
    """(idle, cpus) from the text of /proc/stat: idle + iowait clock ticks of all
    CPUs (the "cpu" line) and the number of "cpuN" lines.

    Busy time is what is not idle: with NO_HZ the kernel measures idle periods
    exactly, while its user/system/softirq split is sampled at the timer tick
    (which misses work that starts and ends between ticks)."""
    idle, cpus = None, 0
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            try:
                values = [int(x) for x in parts[1:6]]
            except ValueError:
                break
            if len(values) < 5:
                break
            idle = values[3] + values[4]
        elif parts[0].startswith("cpu") and parts[0][3:].isdigit():
            cpus += 1
    if idle is None or cpus == 0:
        raise ProcError("no aggregate and per-cpu lines in /proc/stat")
    return idle, cpus


class MachineMeter:
    """CPU % of one core used by the whole machine over a window (2 busy cores:
    200): all CPUs' time minus their idle time.  With the bench's own figures
    subtracted, what ran besides (other users, work charged to no process)."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.before, self.cpus = parse_machine_stat(_read("/proc/stat"))

    def percent(self):
        idle, _cpus = parse_machine_stat(_read("/proc/stat"))
        seconds = time.monotonic() - self.t0
        if seconds <= 0:
            raise ProcError("the window must last > 0 s")
        return max(0.0, 100.0 * self.cpus - 100.0 * (idle - self.before) / CLK_TCK / seconds)


def pids_named(prefix):
    """Pids whose command name (comm) starts with `prefix`, e.g. "ksoftirqd/"."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = stat(int(entry))
            if st is not None and st[1].startswith(prefix):
                out.append(st[0])
    return sorted(out)


class PidsMeter:
    """CPU % of one core of a fixed set of processes over a window (the kernel's
    ksoftirqd threads: packet work the kernel deferred, charged to no daemon)."""

    def __init__(self, pids):
        self.t0 = time.monotonic()
        self.before = {p: t for p, t in ((p, cpu_ticks(p)) for p in pids) if t is not None}

    def percent(self):
        after = {p: t for p, t in ((p, cpu_ticks(p)) for p in self.before) if t is not None}
        return cpu_percent(self.before, after, time.monotonic() - self.t0)
