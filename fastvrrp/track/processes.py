"""vrrp_track_process: how many processes of a name run, from the kernel's process events.

keepalived 2.2.7 (core/track_process.c; reference §2.5):

- a process matches by exact name: its `comm` (what `ps -o comm` shows, at
  most 15 characters), or with `full_command` (implied by parameters or
  `param_match`) its argv[0] from /proc/PID/cmdline;
- `process PATH ARGS…` with `param_match exact` (the default when ARGS are
  given) wants exactly those arguments, `partial` those first and maybe
  more, `initial` those first with the last one only a prefix;
- the tracker is up ("has quorum") while quorum <= count <= quorum_max
  (quorum 1..65535, default 1; quorum_max default 65535; quorum_max 0 means
  "must not run");
- changes come from the proc connector (NETLINK_CONNECTOR, CN_IDX_PROC):
  PROC_EVENT_FORK adds the child of a counted process, PROC_EVENT_EXEC
  re-reads the process's name, PROC_EVENT_COMM follows prctl(PR_SET_NAME),
  PROC_EVENT_EXIT removes it; thread events are ignored; a scan of /proc
  gives the starting point (zombies are not counted);
- `fork_delay` holds back a quorum change caused by a fork, `terminate_delay`
  one caused by an exit (`delay` sets both); a change back before the delay
  ends cancels it; a process that exec()s into a match counts at once;
- "Quorum gained|lost for tracked process NAME" is logged.

The connector only works in the initial network, PID and user namespaces
and as root (CAP_NET_ADMIN).  When the socket cannot be opened
(EPROTONOSUPPORT: no CONFIG_CONNECTOR), cannot subscribe (ECONNREFUSED: we
run in another network namespace; EPERM), or the kernel does not acknowledge
the subscription within `ack_timeout_s` (no CONFIG_PROC_EVENTS, another PID
or user namespace), the tracker says why and falls back to scanning /proc
every `scan_interval_s`: one read of /proc/PID/stat per process (cmdline
only when a tracker needs it); a new process whose parent was already counted
is treated as a fork.  When events were lost (ENOBUFS) /proc is scanned again
at once, the receive buffer doubled, and the differences applied as events.

Deliberate differences from 2.2.7: a process is counted once however often
it exec()s into a matching name (2.2.7 counts it again each time); after
lost events the quorum state really follows the new count (2.2.7 reports it
without recording it); a kernel-side socket filter drops thread and other
events nobody here uses.

The tracker reports quorum changes through `on_change(name, old_up, new_up)`;
weights and FAULT are aggregate.py's business.  The connector socket and its
messages are procconn.py's, reading /proc procfs.py's.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import random
import socket
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .procconn import (PROC_CN_MCAST_IGNORE, RCVBUF, ConnectorUnavailable, listen_msg,
                       open_connector, parse_message, proc_event_filter, set_rcvbuf)
from .procfs import ProcInfo, parse_stat, read_proc, scan_proc
from .registry import by_name, lookup, report_change

log = logging.getLogger("fastvrrp.track.processes")

ChangeCallback = Callable[[str, bool, bool], None]

QUORUM_MAX = 65535
PARAM_MATCHES = (None, "exact", "initial", "partial")
COMM_LEN = 15                    # TASK_COMM_LEN - 1
SCAN_INTERVAL_S = 1.0
ACK_TIMEOUT_S = 1.0
RCVBUF_MAX = 64 << 20
BURST = 512                      # messages handled per readiness callback


# ----------------------------------------------------------------- specs


def _delay(name, what, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value <= 3600:
        raise ValueError("vrrp_track_process %s: %s must be 0..3600 seconds, not %r"
                         % (name, what, value))
    return float(value)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One `vrrp_track_process NAME { … }`, keepalived's defaults.

    Parameters or a `param_match` imply `full_command` (keepalived does the
    same); parameters without `param_match` mean "exact".
    """
    name: str
    process: str
    params: tuple = ()
    param_match: Optional[str] = None
    full_command: bool = False
    quorum: int = 1
    quorum_max: int = QUORUM_MAX
    fork_delay_s: float = 0.0
    terminate_delay_s: float = 0.0
    _argv0: bytes = field(default=b"", init=False, repr=False, compare=False)
    _params: bytes = field(default=b"", init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("vrrp_track_process name must be a non-empty string, not %r"
                             % (self.name,))
        if not isinstance(self.process, str) or not self.process or "\0" in self.process:
            raise ValueError("vrrp_track_process %s: process must be a non-empty name, not %r"
                             % (self.name, self.process))
        params = tuple(self.params)
        for p in params:
            if not isinstance(p, str) or "\0" in p:
                raise ValueError("vrrp_track_process %s: parameters must be strings without NUL, "
                                 "not %r" % (self.name, p))
        if self.param_match not in PARAM_MATCHES:
            raise ValueError("vrrp_track_process %s: param_match must be exact, initial or "
                             "partial, not %r" % (self.name, self.param_match))
        for what in ("quorum", "quorum_max"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= QUORUM_MAX:
                raise ValueError("vrrp_track_process %s: %s must be 0..%d, not %r"
                                 % (self.name, what, QUORUM_MAX, value))
        if self.quorum > self.quorum_max:
            raise ValueError("vrrp_track_process %s: quorum %d is greater than quorum_max %d"
                             % (self.name, self.quorum, self.quorum_max))
        match = self.param_match
        if params and match is None:
            match = "exact"
        full = bool(self.full_command) or bool(params) or match is not None
        if not full and len(self.process.encode()) > COMM_LEN:
            log.warning("vrrp_track_process %s: process name %s is longer than %d characters "
                        "and can never match a process name (use full_command)",
                        self.name, self.process, COMM_LEN)
        set_ = object.__setattr__
        set_(self, "params", params)
        set_(self, "param_match", match)
        set_(self, "full_command", full)
        set_(self, "fork_delay_s", _delay(self.name, "fork_delay", self.fork_delay_s))
        set_(self, "terminate_delay_s", _delay(self.name, "terminate_delay",
                                               self.terminate_delay_s))
        set_(self, "_argv0", os.fsencode(self.process))
        set_(self, "_params", b"".join(os.fsencode(p) + b"\0" for p in params))

    @property
    def cmdline_bytes_needed(self) -> int:
        """How much of /proc/PID/cmdline decides a match (keepalived reads as much + 2)."""
        return len(self._argv0) + 1 + len(self._params)

    def in_quorum(self, count: int) -> bool:
        return self.quorum <= count <= self.quorum_max

    def matches_comm(self, comm: str) -> bool:
        return not self.full_command and comm == self.process

    def matches_cmdline(self, cmdline: bytes) -> bool:
        """keepalived check_params on the raw NUL-separated command line."""
        if not self.full_command:
            return False
        nul = cmdline.find(b"\0")
        argv0 = cmdline if nul < 0 else cmdline[:nul]
        if argv0 != self._argv0:
            return False
        if self.param_match is None:
            return True
        rest = b"" if nul < 0 else cmdline[nul + 1:]
        want = self._params
        if self.param_match == "exact":
            return rest == want
        if len(rest) < len(want):
            return False
        if not want:
            return True
        if self.param_match == "partial":
            return rest.startswith(want)
        return rest.startswith(want[:-1])       # initial: the last one a prefix


def process_spec_from_config(tp) -> ProcessSpec:
    """A ProcessSpec from a config model `TrackProcessDef` (fastvrrp.config.model)."""
    return ProcessSpec(tp.name, tp.process, tuple(tp.params), tp.param_match,
                       bool(tp.full_command), int(tp.quorum), int(tp.quorum_max),
                       tp.fork_delay_us / 1e6, tp.terminate_delay_us / 1e6)


# ----------------------------------------------------------------- tracker


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """A snapshot for the status API and the data dump."""
    name: str
    up: bool                 # quorum, as reported (after any delay)
    count: int
    pids: tuple
    quorum: int
    quorum_max: int
    delay_pending: Optional[str]   # "fork" or "terminate" while a delay runs


class _Tracked:
    __slots__ = ("spec", "pids", "up", "fork_timer", "term_timer")

    def __init__(self, spec: ProcessSpec):
        self.spec = spec
        self.pids: set[int] = set()
        self.up = False
        self.fork_timer = None
        self.term_timer = None

    def cancel(self) -> None:
        for timer in (self.fork_timer, self.term_timer):
            if timer is not None:
                timer.cancel()
        self.fork_timer = self.term_timer = None


class ProcessTracker:
    """Counts the processes of every ProcessSpec; see the module docstring.

        tracker = ProcessTracker(specs, on_change=cb)
        await tracker.start()          # subscribe, scan /proc, wait for the kernel's ack
        tracker.up("nginx"), tracker.mode
        await tracker.stop()

    `use_connector=False` forces the /proc scan (`mode` says which is used and
    `fallback_reason` why the connector is not).
    """

    def __init__(self, specs: Iterable[ProcessSpec], *, on_change: Optional[ChangeCallback] = None,
                 use_connector: bool = True, scan_interval_s: float = SCAN_INTERVAL_S,
                 ack_timeout_s: float = ACK_TIMEOUT_S, rcvbuf: int = RCVBUF, proc: str = "/proc"):
        for what, value in (("scan_interval_s", scan_interval_s), ("ack_timeout_s", ack_timeout_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError("%s must be a positive number of seconds, not %r" % (what, value))
        if isinstance(rcvbuf, bool) or not isinstance(rcvbuf, int) or rcvbuf <= 0:
            raise ValueError("rcvbuf must be a positive number of bytes, not %r" % (rcvbuf,))
        self._tracked: dict[str, _Tracked] = by_name(specs, ProcessSpec, "vrrp_track_process",
                                                     _Tracked)
        self._on_change = on_change
        self._use_connector = use_connector
        self._scan_interval_s = float(scan_interval_s)
        self._ack_timeout_s = float(ack_timeout_s)
        self._rcvbuf = rcvbuf
        self._proc = proc
        self._by_pid: dict[int, set[_Tracked]] = {}
        self._comm_specs = [t for t in self._tracked.values() if not t.spec.full_command]
        self._full_specs = [t for t in self._tracked.values() if t.spec.full_command]
        self._cmdline_size = max((t.spec.cmdline_bytes_needed + 2 for t in self._full_specs),
                                 default=0)
        self._loop = None
        self._sock: Optional[socket.socket] = None
        self._seq = self._ack = 0
        self._acked: Optional[asyncio.Future] = None
        self._scan_timer = None
        self._rescan_handle = None
        self._started = False
        self._stopped = False
        self.mode = "stopped"
        self.fallback_reason = ""
        self.resyncs = 0
        self.events = 0

    # ------------------------------------------------------------ queries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tracked)

    def up(self, name: str) -> bool:
        return self._get(name).up

    def states(self) -> dict[str, bool]:
        return {name: t.up for name, t in self._tracked.items()}

    def count(self, name: str) -> int:
        return len(self._get(name).pids)

    def pids(self, name: str) -> frozenset:
        return frozenset(self._get(name).pids)

    def status(self, name: str) -> ProcessStatus:
        t = self._get(name)
        pending = "fork" if t.fork_timer else "terminate" if t.term_timer else None
        return ProcessStatus(name, t.up, len(t.pids), tuple(sorted(t.pids)), t.spec.quorum,
                             t.spec.quorum_max, pending)

    def _get(self, name: str) -> _Tracked:
        return lookup(self._tracked, name, "no vrrp_track_process named %r")

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Subscribe to process events (or fall back to scanning), count what runs."""
        if self._started:
            raise RuntimeError("process tracker already started")
        self._started = True
        self._loop = asyncio.get_running_loop()
        if not self._tracked:
            self.mode = "idle"
            return
        if self._use_connector:
            try:
                self._sock, self._seq, self._ack = open_connector(self._rcvbuf)
            except ConnectorUnavailable as exc:
                self.fallback_reason = exc.strerror or str(exc)
        else:
            self.fallback_reason = "process events disabled by configuration"
        self._initial_scan()                     # after subscribing: nothing is missed
        if self._sock is not None:
            self._acked = self._loop.create_future()
            self._loop.add_reader(self._sock.fileno(), self._readable)
            try:
                await asyncio.wait_for(asyncio.shield(self._acked), self._ack_timeout_s)
            except asyncio.TimeoutError:
                self._close_socket()
                self.fallback_reason = ("the kernel did not acknowledge the subscription within "
                                        "%g s (no CONFIG_PROC_EVENTS, or not the initial PID/user "
                                        "namespace)" % self._ack_timeout_s)
            except ConnectorUnavailable as exc:
                self._close_socket()
                self.fallback_reason = exc.strerror or str(exc)
        if self._sock is not None:
            self.mode = "connector"
            return
        self.mode = "scan"
        log.warning("track_process: process events unavailable (%s) - scanning /proc every %g s",
                    self.fallback_reason, self._scan_interval_s)
        self._scan_timer = self._loop.call_later(self._scan_interval_s, self._periodic_scan)

    async def stop(self) -> None:
        self._stopped = True
        for t in self._tracked.values():
            t.cancel()
        for handle in (self._scan_timer, self._rescan_handle):
            if handle is not None:
                handle.cancel()
        self._scan_timer = self._rescan_handle = None
        if self._sock is not None:
            try:
                self._sock.send(listen_msg(PROC_CN_MCAST_IGNORE, random.getrandbits(32), 0))
            except OSError:
                pass
            self._close_socket()
        self.mode = "stopped"

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            self._loop.remove_reader(sock.fileno())
        except (ValueError, RuntimeError, OSError):
            pass
        sock.close()

    # ------------------------------------------------------------ scanning

    def _scan(self) -> tuple[dict[_Tracked, set[int]], dict[int, int]]:
        found: dict[_Tracked, set[int]] = {t: set() for t in self._tracked.values()}
        ppids: dict[int, int] = {}
        for info in scan_proc(self._proc, cmdline_size=self._cmdline_size):
            ppids[info.pid] = info.ppid
            for t in self._comm_specs:
                if info.comm == t.spec.process:
                    found[t].add(info.pid)
            if info.cmdline is not None:
                for t in self._full_specs:
                    if t.spec.matches_cmdline(info.cmdline):
                        found[t].add(info.pid)
        return found, ppids

    def _initial_scan(self) -> None:
        found, _ = self._scan()
        for t, pids in found.items():
            for pid in pids:
                t.pids.add(pid)
                self._by_pid.setdefault(pid, set()).add(t)
            t.up = t.spec.in_quorum(len(t.pids))

    def _apply_scan(self) -> None:
        """Apply a fresh scan as events: new processes first (a fork when the
        parent was counted), then the ones gone, so a restart between two scans
        does not flap the quorum."""
        found, ppids = self._scan()
        for t, pids in found.items():
            before = set(t.pids)
            for pid in sorted(pids - before):
                self._add(t, pid, forked=ppids.get(pid) in before)
            for pid in sorted(before - pids):
                self._remove(t, pid, exited=True)

    def _periodic_scan(self) -> None:
        self._scan_timer = None
        if self._stopped:
            return
        self._apply_scan()
        self._scan_timer = self._loop.call_later(self._scan_interval_s, self._periodic_scan)

    def _schedule_rescan(self) -> None:
        if self._rescan_handle is None and not self._stopped:
            self._rescan_handle = self._loop.call_soon(self._rescan)

    def _rescan(self) -> None:
        self._rescan_handle = None
        if self._stopped:
            return
        self.resyncs += 1
        self._apply_scan()

    # ------------------------------------------------------------ events

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(BURST):
            try:
                data, addr = sock.recvfrom(8192)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self._overrun()
                    continue
                log.error("process monitor netlink recv error %d - %s", exc.errno, exc.strerror)
                return
            if addr[0] != 0:
                continue                      # not from the kernel
            self._message(data)

    def _overrun(self) -> None:
        size = min(self._rcvbuf * 2, RCVBUF_MAX)
        if size != self._rcvbuf and self._sock is not None:
            self._rcvbuf = size
            try:
                set_rcvbuf(self._sock, size)
            except OSError:
                pass
        log.warning("track_process: process events were lost (receive buffer full) - "
                    "re-reading /proc; receive buffer now %d bytes", self._rcvbuf)
        self._schedule_rescan()

    def _message(self, data: bytes) -> None:
        event = parse_message(data)
        if event is None:
            return
        kind = event[0]
        if kind == "ack":
            self._ack_received(*event[1:])
            return
        self.events += 1
        if kind == "fork":
            self.on_fork(*event[1:])
        elif kind == "exec":
            self.on_exec(*event[1:])
        elif kind == "comm":
            self.on_comm(*event[1:])
        elif kind == "exit":
            self.on_exit(*event[1:])

    def _ack_received(self, ack: int, err: int) -> None:
        fut = self._acked
        # The kernel echoes our ack + 1 (its seq is its own event counter).
        if fut is None or fut.done() or ack != (self._ack + 1) & 0xFFFFFFFF:
            return                            # another listener's acknowledgement
        if err:
            fut.set_exception(ConnectorUnavailable(err, "the kernel refused the process-events "
                                                   "subscription: %s" % os.strerror(err)))
        else:
            log.debug("proc_events has confirmed it is configured")
            fut.set_result(True)

    # The handlers below are keepalived's check_process_fork, check_process,
    # check_process_comm_change and check_process_termination.

    def on_fork(self, parent: int, child: int) -> None:
        for t in tuple(self._by_pid.get(parent, ())):
            self._add(t, child, forked=True)

    def on_exec(self, pid: int) -> None:
        had = self._by_pid.get(pid, set())
        comm = cmdline = None
        if self._comm_specs:
            raw = read_proc("%s/%d/comm" % (self._proc, pid), 64)
            if raw is not None:
                comm = os.fsdecode(raw.rstrip(b"\n"))
        if self._full_specs:
            cmdline = read_proc("%s/%d/cmdline" % (self._proc, pid), self._cmdline_size)
        if comm is None and cmdline is None:
            return                            # already gone: its exit event follows
        for t in self._comm_specs:
            if comm is None:
                continue
            if comm == t.spec.process:
                self._add(t, pid, forked=False)
            elif t in had:
                self._remove(t, pid, exited=False)
        for t in self._full_specs:
            if cmdline is None:
                continue
            if t.spec.matches_cmdline(cmdline):
                self._add(t, pid, forked=False)
            elif t in had:
                self._remove(t, pid, exited=False)

    def on_comm(self, pid: int, comm: str) -> None:
        for t in tuple(self._by_pid.get(pid, ())):
            if not t.spec.full_command and comm != t.spec.process:
                self._remove(t, pid, exited=False)
        for t in self._comm_specs:
            if comm == t.spec.process:
                self._add(t, pid, forked=False)

    def on_exit(self, pid: int) -> None:
        for t in tuple(self._by_pid.get(pid, ())):
            self._remove(t, pid, exited=True)

    # ------------------------------------------------------------ counting

    def _add(self, t: _Tracked, pid: int, *, forked: bool) -> None:
        if pid in t.pids:
            return
        t.pids.add(pid)
        self._by_pid.setdefault(pid, set()).add(t)
        n = len(t.pids)
        spec = t.spec
        if n != spec.quorum and n != spec.quorum_max + 1:
            return                            # no quorum boundary crossed
        if t.term_timer is not None:
            t.term_timer.cancel()             # back before the terminate delay ended
            t.term_timer = None
        elif forked and spec.fork_delay_s:
            if t.fork_timer is not None:
                t.fork_timer.cancel()
            t.fork_timer = self._loop.call_later(spec.fork_delay_s, self._delay_over, t, "fork")
            return
        self._report(t, n == spec.quorum)

    def _remove(self, t: _Tracked, pid: int, *, exited: bool) -> None:
        if pid not in t.pids:
            return
        t.pids.discard(pid)
        users = self._by_pid.get(pid)
        if users is not None:
            users.discard(t)
            if not users:
                del self._by_pid[pid]
        n = len(t.pids)
        spec = t.spec
        if n + 1 != spec.quorum and n != spec.quorum_max:
            return
        if t.fork_timer is not None:
            t.fork_timer.cancel()             # gone before the fork delay ended
            t.fork_timer = None
        elif exited and spec.terminate_delay_s:
            if t.term_timer is not None:
                t.term_timer.cancel()
            t.term_timer = self._loop.call_later(spec.terminate_delay_s, self._delay_over, t,
                                                 "terminate")
            return
        self._report(t, n == spec.quorum_max)

    def _delay_over(self, t: _Tracked, which: str) -> None:
        if which == "fork":
            t.fork_timer = None
        else:
            t.term_timer = None
        self._report(t, t.spec.in_quorum(len(t.pids)))

    def _report(self, t: _Tracked, now_up: bool) -> None:
        if now_up == t.up or self._stopped:
            return
        t.up = now_up
        name = t.spec.name
        log.info("Quorum %s for tracked process %s", "gained" if now_up else "lost", name)
        report_change(log, self._on_change, "vrrp_track_process", name, not now_up, now_up)


__all__ = ["ConnectorUnavailable", "ProcInfo", "ProcessSpec", "ProcessStatus", "ProcessTracker",
           "open_connector", "parse_stat", "proc_event_filter", "process_spec_from_config",
           "scan_proc"]
