"""Helpers shared by the fastvrrp.track tests: loops, /proc inspection, fakes."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os

import uvloop

LOOP_KINDS = ("asyncio", "uvloop")


def run_on(kind, coro_fn, *args, timeout=20.0):
    """Run `coro_fn(*args)` to completion on a fresh asyncio or uvloop loop."""
    async def bounded():
        return await asyncio.wait_for(coro_fn(*args), timeout)
    if kind == "uvloop":
        return uvloop.run(bounded())
    return asyncio.run(bounded())


def _stat(pid):
    """(state, ppid, pgrp) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            text = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2])


def processes():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                yield int(entry), info


def children_of(pid=None):
    """[(pid, state)] of every process whose parent is `pid` (default: us)."""
    pid = os.getpid() if pid is None else pid
    return [(p, st) for p, (st, ppid, _) in processes() if ppid == pid]


def zombie_children(pid=None):
    return [p for p, st in children_of(pid) if st == "Z"]


def live_group_members(pgid):
    """Processes of group `pgid` that are not dead (zombies do not count)."""
    return [p for p, (st, _, pgrp) in processes() if pgrp == pgid and st not in ("Z", "X")]


def group_gone(pgid, timeout=5.0):
    """Wait (on each member's pidfd) until no live process is left in group
    `pgid`: a SIGKILLed process is gone moments later, not at once."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        members = live_group_members(pgid)
        if not members:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("group %d still has live members %s" % (pgid, members))
        for pid in members:
            wait_dead(pid, max(left, 0.01))


def is_dead(pid):
    info = _stat(pid)
    return info is None or info[0] in ("Z", "X")


# ---------------------------------------------------------------- fakes for the tracker

class _TimerHandle:
    def __init__(self, when, seq, cb, args):
        self.when, self.seq, self.cb, self.args = when, seq, cb, args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def __lt__(self, other):
        return (self.when, self.seq) < (other.when, other.seq)


class FakeLoop:
    """A manual clock with asyncio's call_soon/call_at/time and an `advance`."""

    def __init__(self):
        self.now = 0.0
        self._queue = []
        self._seq = itertools.count()

    def time(self):
        return self.now

    def call_at(self, when, cb, *args):
        handle = _TimerHandle(when, next(self._seq), cb, args)
        heapq.heappush(self._queue, handle)
        return handle

    def call_soon(self, cb, *args):
        return self.call_at(self.now, cb, *args)

    def call_later(self, delay, cb, *args):
        return self.call_at(self.now + delay, cb, *args)

    def pending(self):
        return sorted(h.when for h in self._queue if not h.cancelled)

    def advance(self, seconds):
        """Run every callback due up to now + seconds, in time order."""
        end = self.now + seconds
        while self._queue and self._queue[0].when <= end:
            handle = heapq.heappop(self._queue)
            if handle.cancelled:
                continue
            self.now = max(self.now, handle.when)
            handle.cb(*handle.args)
        self.now = end


class FakeHandle:
    def __init__(self, runner, spec, timeout_s, on_exit):
        self.runner, self.spec, self.timeout_s, self._on_exit = runner, spec, timeout_s, on_exit
        self.result = None
        self.terminating = False
        self.terminated_with = None

    @property
    def done(self):
        return self.result is not None

    def finish(self, result):
        self.result = result
        self.runner.live.remove(self)
        self._on_exit(result)

    def terminate(self, grace_s=1.0):
        self.terminating = True
        self.terminated_with = grace_s

    async def wait(self):
        return self.result


class FakeRunner:
    """Records every start; the test finishes runs by hand with `finish`."""

    def __init__(self, loop):
        self.loop = loop
        self.started = []
        self.live = []
        self.immediate = None   # a RunResult to deliver synchronously from start()

    def start(self, spec, timeout_s=None, on_exit=None):
        handle = FakeHandle(self, spec, timeout_s, on_exit)
        self.started.append(handle)
        self.live.append(handle)
        if self.immediate is not None:
            handle.finish(self.immediate)
        return handle


async def fifo_lines(path, count):
    """Wait (on the running loop) until `count` lines have been written to FIFO `path`."""
    loop = asyncio.get_running_loop()
    rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)   # no EOF while writers come and go
    data = bytearray()
    done = loop.create_future()

    def readable():
        try:
            data.extend(os.read(rfd, 4096))
        except BlockingIOError:
            return
        if data.count(b"\n") >= count and not done.done():
            done.set_result(None)
    loop.add_reader(rfd, readable)
    try:
        await done
    finally:
        loop.remove_reader(rfd)
        os.close(rfd)
        os.close(wfd)
    return data.decode().splitlines()


def make_world_dir():
    """A fresh directory any user may write (for scripts run as nobody)."""
    import tempfile
    path = tempfile.mkdtemp(prefix="fastvrrp-track-")
    os.chmod(path, 0o777)
    return path


def wait_dead(pid, timeout=5.0):
    """Block until process `pid` has exited (a pidfd turns readable), or fail."""
    import select
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not ready:
        raise AssertionError("process %d still alive after %.0fs" % (pid, timeout))
    return True
