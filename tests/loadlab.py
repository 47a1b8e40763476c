"""The load lab: a fastvrrp master and backup carrying 1,000 instances at 0.01 s.

What the correctness-under-load tests (tests/netns/test_load_under_load.py,
issue 6) share.  The lab is the bench's end-to-end lab
(fastvrrp.bench.e2e_lab: one bridge per 255 VRIDs, the master at 10.0.k.1,
the backup at 10.0.k.2, VRRPv3 over IPv4, priorities 200 / 100, one VIP
per instance) with its own namespace prefix (LAB_PREFIX: never a bench
run's), and with what the tests watch added to the generated configs:

  - a `notify_fifo` on both nodes, made and held open by a FifoCollector
    before the daemon starts (no line is lost for want of a reader);
  - on the burst instances (every 10th: 100 of them, spread over every link)
    the generic `notify` script, which appends "NAME STATE PRIO" to a log
    (one write per call, O_APPEND), and on the master a `track_file` with
    weight -150: writing 1 to the file takes those 100 masters to priority
    50, below the backup's 100 (RFC 5798 §6.4.2: the preempting backup
    ignores the lower master, its Master_Down_Timer fires, it becomes
    Master, and the old master, hearing 100 > 50, goes back to Backup);
    writing 0 brings them back the same way.

Both daemons run with `vrrp_rt_priority DAEMON_RT_PRIORITY` (SCHED_RR with
SCHED_RESET_ON_FORK, as keepalived sets it; fastvrrp/daemon/sched.py), and the
lab checks that the daemon's event-loop thread got it: their scripts still
run at the normal policy.  Measured on
this 2-core machine while other work ran (load average about 3): without it,
the master's event-loop thread spent 661 ms of a 1.6 s burst waiting for a
CPU (/proc/PID/task/PID/schedstat), more than the daemon's own work, and the
backup took instances over for it; with it, 5-8 ms.  The tests judge the
daemon, not the machine's other tenants.

The sniffer (fastvrrp.bench.sniffer: TPACKET_V3, kernel receive timestamps,
CLOCK_REALTIME) starts before either daemon, so it holds every advert either
daemon ever sent.  A JSON dump reads every counter at one instant between
two ticks, between the signal and the file (`LoadPair.dump` gives both
wall-clock times), so:

  - sent: one instant T in [signal, file] must explain every instance's
    advert_sent at once: counter == adverts on the wire before T
    (`common_cut`; exact: an error of one advert on one instance fails);
  - received: a counter that started at an unknown moment is read twice;
    per receive socket (drained as a whole), two instants T1 < T2 must
    explain every instance's growth: growth == adverts in [T1, T2)
    (`paired_cuts`; exact per instance, but not against a shift of both
    instants by whole advert intervals, which moves every instance alike).

The differential harness of tests/unit/test_fastpath_differential.py is
reused for the replay: `HeapOracle` is its oracle (the machines alone, the
reference codec) with a heap for 1,000 instances' timers, `LinkBridged`
its fast path + bridge with one socket per link; `master_stream` rebuilds
the master's captured adverts as packets, `replay` feeds them at their
wire times.

    with LoadPair() as pair:                     # always torn down
        recs, t_sig, t_file = pair.dump("master")
        run = run_burst(pair)                    # BurstRun: logs, FIFO, notify calls, VIPs
"""

import bisect
import contextlib
import dataclasses
import fcntl
import heapq
import os
import re
import select
import signal
import threading
import json
import time
from ipaddress import IPv4Address

from fastvrrp.bench.e2e_lab import (MASTER_PRIORITY, Daemon, E2EError, E2ELab, Layout,
                                    make_config, wait_settled)
from fastvrrp.bench.lab import Lab
from fastvrrp.bench.sniffer import Sniffer
from fastvrrp.bench.waitfor import WaitTimeout, wait_for
from fastvrrp.bench.wirestats import ip_int
from fastvrrp.config.model import Command, Fifo, TrackFile, TrackFileDef
from fastvrrp.config.render import render
from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert
from fastvrrp.daemon.convert import instance_params
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.vrrp import Startup, VrrpMachine
from notifylab import make_script
from unit.test_fastpath_differential import Bridged, Oracle, run_until

LAB_PREFIX = "fl"               # namespaces fl<6 hex>-<role>: 2 letters, so "master" fits in 15
INSTANCES = 1000
ADVERT_INT_S = 0.01
BURST_STEP = 10                 # instances 0, 10, 20, ... 990: the burst
BURST_WEIGHT = -150             # 200 - 150 = 50 < the backup's 100
MASTER_PRIORITY_BURST = MASTER_PRIORITY + BURST_WEIGHT
TRACK_NAME = "burst"
F_SETPIPE_SZ = 1031
SNIFFER_BLOCK_MS = 50
ROLES = ("master", "backup")
STATE_NAMES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}
SIG_JSON = int(signal.SIGRTMIN) + 2       # keepalived.json (fastvrrp.daemon.process)
DAEMON_RT_PRIORITY = 10                   # SCHED_RR, as keepalived's vrrp_rt_priority


def check_realtime(pid, priority=DAEMON_RT_PRIORITY):
    """The daemon's main (event-loop) thread runs SCHED_RR at `priority`, as its
    config's vrrp_rt_priority asks (fastvrrp/daemon/sched.py)."""
    policy = os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK
    got = os.sched_getparam(pid).sched_priority
    if (policy, got) != (os.SCHED_RR, priority):
        raise LoadLabError("daemon %d runs policy %d priority %d, not SCHED_RR %d "
                           "(vrrp_rt_priority)" % (pid, policy, got, priority))


class LoadLabError(AssertionError):
    """The lab misbehaved in a way the test reports as a failure."""


def burst_indexes(layout):
    return list(range(0, layout.instances, BURST_STEP))


# -- the lab ---------------------------------------------------------------------------
class LoadLab(E2ELab):
    """E2ELab with LAB_PREFIX namespaces (the bench's own use the default prefix)."""

    def __init__(self, layout, *, progress=None):   # not super().__init__: it makes Lab()
        self.layout = layout
        self.progress = progress or (lambda msg: None)
        self._vips = frozenset(layout.vips)
        self.lab = Lab(LAB_PREFIX)
        try:
            self._build(False)
        except BaseException:
            self.lab.close()
            raise


def load_config_text(layout, role, *, fifo, notify, track_path=None):
    """The bench's generated config of `role`, plus the notify FIFO, the
    burst instances' notify script and (master) their tracked file."""
    config = make_config(layout, role)
    burst = set(burst_indexes(layout))
    instances = []
    for j, inst in enumerate(config.instances):
        if j in burst:
            extra = {"notify": Command(argv=(notify,))} if notify else {}
            if track_path is not None:
                extra["track_files"] = (TrackFile(TRACK_NAME, weight=BURST_WEIGHT),)
            inst = dataclasses.replace(inst, **extra)
        instances.append(inst)
    other = dict(config.global_defs.other, vrrp_rt_priority=DAEMON_RT_PRIORITY)
    g = dataclasses.replace(config.global_defs, notify_fifo=Fifo(fifo), other=other)
    track_files = {}
    if track_path is not None:
        track_files = {TRACK_NAME: TrackFileDef(TRACK_NAME, track_path)}
    return render(dataclasses.replace(config, global_defs=g, instances=tuple(instances),
                                      track_files=track_files))


# -- the FIFO ----------------------------------------------------------------------------
class FifoCollector:
    """Reads a notify FIFO from a thread into `lines` (text, in arrival order).

    The FIFO is made here, before the daemon starts (the daemon accepts a
    FIFO owned by its own user), held open read-write (so poll() waits for
    data instead of reporting a hang-up while no writer is there) and its
    pipe buffer enlarged to 1 MiB: a burst of lines is never lost for want
    of a reader."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path, 0o600)
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, 1 << 20)
        self.lines = []
        self._partial = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error = None
        self._thread = threading.Thread(target=self._run, name="load-fifo", daemon=True)
        self._thread.start()

    def _run(self):
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            while not self._stop.is_set():
                poller.poll(50)
                self._read()
        except BaseException as exc:          # reported by check(), never silent
            self.error = exc

    def _read(self):
        with self._lock:
            while True:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    return
                if not chunk:
                    return
                parts = (self._partial + chunk).split(b"\n")
                self._partial = parts.pop()
                self.lines.extend(p.decode("utf-8", "replace") for p in parts)

    def snapshot(self):
        """Every complete line so far (what is waiting in the pipe is read first)."""
        self.check()
        self._read()
        with self._lock:
            return list(self.lines)

    def check(self):
        if self.error is not None:
            raise LoadLabError("the FIFO reader of %s failed: %r" % (self.path, self.error))

    def close(self):
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            os.close(self.fd)


# -- the pair ----------------------------------------------------------------------------
NOTIFY_SCRIPT = 'echo "$2 $3 $4" >> "%s"\n'      # notify: INSTANCE NAME STATE PRIO


class LoadPair:
    """The lab, the sniffer (from before the first daemon), the FIFO readers and
    both daemons settled (every instance MASTER on the master, BACKUP on the
    backup, every VIP on the master, every VRID on the wire); a context
    manager that always tears everything down."""

    def __init__(self, instances=INSTANCES, advert_int_s=ADVERT_INT_S, *, notify=True,
                 progress=None):
        self.layout = Layout.from_seconds(instances, advert_int_s)
        self.notify = notify
        self.progress = progress or (lambda msg: None)
        self.e2e = LoadLab(self.layout, progress=self.progress)
        self.sniffer = None
        self.fifos = {}
        self.daemons = {}
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        lab, layout = self.e2e.lab, self.layout
        self.track_path = lab.path("burst.track")
        self._write_track(0)
        self.notify_logs = {}
        for role in ROLES:
            self.fifos[role] = FifoCollector(lab.path(role + ".fifo"))
            log = self.notify_logs[role] = lab.path(role + "-notify.log")
            open(log, "w").close()
            script = make_script(lab.workdir, role + "-notify.sh", NOTIFY_SCRIPT % log)
            text = load_config_text(layout, role, fifo=self.fifos[role].path,
                                    notify=script if self.notify else None,
                                    track_path=self.track_path if role == "master" else None)
            self.daemons[role] = Daemon(self.e2e, role, "fastvrrp", text, tag="load")
        # (source, VRID) -> instance index, for each node's adverts
        self.instance_of = {}
        for role in ROLES:
            for k, link in enumerate(self.e2e.links[role]):
                for vrid in range(1, 256):
                    j = k * 255 + vrid - 1
                    if j < layout.instances:
                        self.instance_of[ip_int(link.ip4) << 8 | vrid] = (role, j)
        self.sources = {role: self.e2e.sources(role) for role in ROLES}
        # 128 blocks of 1 MiB, each handed over after at most 50 ms (about 5,000
        # frames at 100,000/s): seconds of slack for a reader starved of CPU
        self.sniffer = Sniffer(self.e2e.ns("sw"), self.e2e.port_ifindexes, blocks=128,
                               block_timeout_ms=SNIFFER_BLOCK_MS).start()
        master, backup = self.daemons["master"], self.daemons["backup"]
        t0 = time.monotonic()
        since = time.time_ns()
        master.start()
        wait_settled(self.e2e, master, None, self.sniffer, since_wall_ns=since)
        check_realtime(master.pid)
        since = time.time_ns()
        backup.start()
        wait_settled(self.e2e, master, backup, self.sniffer, since_wall_ns=since)
        check_realtime(backup.pid)
        self.wait_outputs()
        self.progress("pair settled in %.1f s" % (time.monotonic() - t0))

    # -- actions ---------------------------------------------------------------------
    def _write_track(self, value):
        with open(self.track_path, "w") as fh:     # close-after-write: inotify re-reads
            fh.write("%d\n" % value)

    def set_burst(self, on):
        """The tracked file: 1 takes the burst masters to priority 50, 0 back to 200."""
        self._write_track(1 if on else 0)

    @property
    def burst_names(self):
        return [self.layout.name(j) for j in burst_indexes(self.layout)]

    # -- observations ----------------------------------------------------------------
    def check_alive(self):
        for d in self.daemons.values():
            d.check_alive()
        self.sniffer.check()
        for f in self.fifos.values():
            f.check()

    def dump(self, role, timeout=10.0):
        """keepalived.json of `role` (SIGRTMIN+2): ({name: record}, t_signal_ns,
        t_file_ns); the daemon read its counters between the two wall-clock times."""
        d = self.daemons[role]
        d.check_alive()
        path = os.path.join(d.tmpdir, "keepalived.json")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        t_sig = time.time_ns()
        os.kill(d.pid, SIG_JSON)
        wait_for(lambda: os.path.exists(path), timeout, interval=0.001, max_interval=0.01,
                 what="the JSON dump of the %s" % role)
        t_file = time.time_ns()
        with open(path) as fh:
            records = json.load(fh)
        return {r["data"]["iname"]: r for r in records}, t_sig, t_file

    def settle(self, timeout=10.0):
        """Wait until the pair is settled again (wait_settled: logs, VIPs; then
        the FIFO lines and notify script calls)."""
        wait_settled(self.e2e, self.daemons["master"], self.daemons["backup"], timeout=timeout)
        try:
            self.wait_outputs(timeout)
        except WaitTimeout as exc:
            raise E2EError(str(exc)) from None

    SETTLED = {"master": "MASTER", "backup": "BACKUP"}

    def wait_outputs(self, timeout=10.0):
        """Until every instance's last FIFO line, and every burst instance's last
        notify script call, names its settled state: the FIFO lines and scripts
        of earlier transitions (start-up: BACKUP then MASTER) come after the log
        lines and must not be taken for a burst's."""
        missing = []

        def done():
            self.check_alive()
            del missing[:]
            for role, state in self.SETTLED.items():
                last = {}
                for line in self.fifos[role].snapshot():
                    m = _FIFO_RE.match(line)
                    if m and m.group(2) in ("MASTER", "BACKUP", "FAULT", "STOP"):
                        last[m.group(1)] = m.group(2)
                off = sorted((n, last.get(n)) for n in self.layout.names if last.get(n) != state)
                if off:
                    missing.append("%s FIFO: %d instance(s) not last %s, e.g. %s"
                                   % (role, len(off), state, off[:5]))
                if self.notify:
                    calls = {c[0]: c[1] for c in self.notify_calls(role) if len(c) == 3}
                    off = sorted((n, calls.get(n)) for n in self.burst_names
                                 if calls.get(n) != state)
                    if off:
                        missing.append("%s notify: %d instance(s) not last %s, e.g. %s"
                                       % (role, len(off), state, off[:5]))
            return None if missing else True
        try:
            wait_for(done, timeout, what="every FIFO line and notify call of the settled pair")
        except WaitTimeout as exc:
            raise WaitTimeout("%s: %s" % (exc, "; ".join(missing))) from None

    def states(self, role):
        """{name: state name} from a JSON dump."""
        recs, _t0, _t1 = self.dump(role)
        return {name: STATE_NAMES.get(r["data"]["state"], r["data"]["state"])
                for name, r in recs.items()}

    def notify_calls(self, role):
        """[(name, state, prio)] the notify script logged, in file order."""
        with open(self.notify_logs[role]) as fh:
            return [tuple(line.split()) for line in fh.read().splitlines() if line]

    # -- teardown ------------------------------------------------------------------------
    def close(self):
        errors = []
        for role in reversed(ROLES):
            d = self.daemons.get(role)
            if d is not None:
                try:
                    d.stop(grace=10.0)
                except Exception as exc:
                    errors.append("stopping the %s: %s" % (role, exc))
        if self.sniffer is not None:
            with contextlib.suppress(Exception):
                self.sniffer.stop()
        for f in self.fifos.values():
            f.close()
        self.e2e.close()
        if errors:
            raise E2EError("; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# -- the wire, per instance ------------------------------------------------------------
DISORDER_NS = 1_000_000_000    # the sniffer's columns (arrival order) are sorted to within this


def index_range(adverts, t0_ns, t1_ns):
    """Indexes [i0, i1) of the sniffer's columns that hold every entry stamped in
    [t0, t1) (bisected with DISORDER_NS of margin: arrival order is stamp order
    up to softirq delays)."""
    n = len(adverts)
    ts = adverts.ts
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if ts[mid] < t0_ns - DISORDER_NS:
            lo = mid + 1
        else:
            hi = mid
    i0 = lo
    lo, hi = i0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if ts[mid] < t1_ns + DISORDER_NS:
            lo = mid + 1
        else:
            hi = mid
    return i0, lo


def wire_split(adverts, instance_of, brackets, *, stop_ns):
    """One pass over the sniffer's columns up to `stop_ns`: for each bracket
    (role, lo, hi), the adverts of `role`'s instances stamped before lo
    ({j: count}) and inside [lo, hi) ({j: [ts, ...] sorted})."""
    _i0, n = index_range(adverts, stop_ns, stop_ns)
    ts, src, vp = adverts.ts, adverts.src, adverts.vrid_prio
    out = [({}, {}) for _ in brackets]
    by_role = {}
    for (role, lo, hi), (before, near) in zip(brackets, out):
        by_role.setdefault(role, []).append((lo, hi, before, near))
    for i in range(n):
        t = ts[i]
        if t >= stop_ns:
            continue
        who = instance_of.get(src[i] << 8 | vp[i] >> 8)
        if who is None:
            continue
        j = who[1]
        for lo, hi, before, near in by_role.get(who[0], ()):
            if t < lo:
                before[j] = before.get(j, 0) + 1
            elif t < hi:
                near.setdefault(j, []).append(t)
    for _before, near in out:
        for series in near.values():
            series.sort()
    return out


def common_cut(counts, before, near, lo, hi):
    """The instants T in [lo, hi] at which, for every instance j of `counts`,
    the adverts on the wire before T equal counts[j]: (T_low, T_high) with
    T_low < T <= T_high, or (None, [j, ...]) naming the instances that no
    common T explains (each alone, or against the rest's consensus)."""
    lower, upper = lo - 1, hi
    bad = []
    bounds = {}
    for j, c in counts.items():
        k = c - before.get(j, 0)
        series = near.get(j, [])
        if not 0 <= k <= len(series):
            bad.append(j)
            continue
        a = series[k - 1] if k > 0 else lo - 1
        b = series[k] if k < len(series) else hi
        bounds[j] = (a, b)
        lower, upper = max(lower, a), min(upper, b)
    if not bad and lower < upper:
        return (lower, upper)
    if bounds:
        # the consensus: the instant most instances agree on; the rest are wrong
        mids = sorted((a + b) // 2 for a, b in bounds.values())
        t = mids[len(mids) // 2]
        bad += [j for j, (a, b) in bounds.items() if not a < t <= b]
    return (None, sorted(bad))


def counts_at(before, near, t):
    """{j: adverts on the wire before t} (t inside the bracket of before/near)."""
    out = dict(before)
    for j, series in near.items():
        out[j] = out.get(j, 0) + bisect.bisect_left(series, t)
    return out


def paired_cuts(delta, before1, near1, lo1, hi1, before2, near2, lo2, hi2):
    """Two instants T1 < T2 such that for every instance j of `delta` the adverts
    on the wire in [T1, T2) are delta[j]: (T1 range, T2 range), or None.

    For a receiver whose counters started at unknown moments: only their
    growth between two readings is known, and each reading happened at one
    instant per receive socket."""
    if not delta:
        return None
    stamps = sorted({t for j in delta for t in near1.get(j, ())})
    candidates = [lo1] + [t + 1 for t in stamps]      # T1 just after each stamp
    for t1 in candidates:
        at1 = counts_at({j: before1.get(j, 0) for j in delta},
                        {j: near1.get(j, []) for j in delta}, t1)
        want = {j: at1[j] + d for j, d in delta.items()}
        cut = common_cut(want, before2, near2, lo2, hi2)
        if cut[0] is not None:
            return (t1, cut)
    return None


# -- the daemon's log ---------------------------------------------------------------------
_STATE_RE = re.compile(r"\((VI_\d+)\) Entering (MASTER|BACKUP|FAULT) STATE")


class LogMark:
    """A position in a daemon's log: `transitions()` lists the state lines after it."""

    def __init__(self, daemon):
        self.path = daemon.log_path
        self.offset = os.path.getsize(self.path)

    def transitions(self):
        """[(name, state)] logged since the mark, in log order (whole lines only)."""
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        text = data[:data.rfind(b"\n") + 1].decode("utf-8", "replace")
        return [(m.group(1), m.group(2)) for m in _STATE_RE.finditer(text)]


# -- replay: the machine alone vs the fast path, fed what the wire carried -----------------
class _HeapTimers(dict):
    """The oracle's timer dict, with a heap of (deadline, seq, key) beside it
    (stale entries are skipped), so 1,000 instances cost O(log n) per timer."""

    def __init__(self):
        super().__init__()
        self.heap = []

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        heapq.heappush(self.heap, (value[0], value[1], key))


class HeapOracle(Oracle):
    """The differential test's oracle (the machines alone, the reference codec,
    timers fired in (deadline, arming order) with the same late rule), its
    timer scan replaced by a heap: the same rounds, the same order."""

    def __init__(self, insts):
        super().__init__(insts)
        self.timers = _HeapTimers()

    def next_deadline(self):
        heap = self.timers.heap
        while heap and self.timers.get(heap[0][2]) != heap[0][:2]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def due(self, now):
        heap = self.timers.heap
        due = []
        while heap and heap[0][0] <= now:
            d, seq, key = heapq.heappop(heap)
            if self.timers.get(key) == (d, seq):
                due.append((d, seq, key))
        return due


class LinkBridged(Bridged):
    """The differential test's fast path + bridge, one receive socket per link
    (a socket's slot table has one slot per VRID, as in the daemon)."""

    def __init__(self, insts, links):
        self.insts = insts
        self.links = links
        self.fp = FastPath(capture=True, capacity=max(1024, len(insts)))
        self.events = []
        self.bridge = FastPathBridge(self.fp, self._actions)
        self.socks = {k: self.fp.add_socket(-1, 4) for k in sorted(set(links))}
        for i, inst in enumerate(insts):
            sid = self.socks[links[i]]
            self.bridge.add_instance(i, VrrpMachine(inst["params"]), rx_socket=sid,
                                     tx_socket=sid, src=inst["net"]["ours"], auth_type=0,
                                     auth_pass=b"")

    def packet(self, i, pkt, src, dst, now):
        self.fp.inject(self.socks[self.links[i]], pkt, now)


def backup_instances(layout, backup_links):
    """The backup's instances as the differential harness takes them: the
    machine parameters the daemon derives from the generated config
    (fastvrrp.daemon.convert.instance_params) with the backup's address."""
    config = make_config(layout, "backup")
    insts, links = [], []
    for j, inst in enumerate(config.instances):
        k, _vrid = layout.place(j)
        ours = backup_links[k].ip4
        params = dataclasses.replace(instance_params(inst), primary_address=IPv4Address(ours))
        insts.append({"params": params, "family": 4, "net": {"ours": ours}, "auth": 0})
        links.append(k)
    return insts, links


def master_stream(pair, t0_ns, t1_ns):
    """The master's adverts the sniffer saw in [t0, t1), rebuilt as packets:
    [(ts, instance, packet)] in time order (VRRPv3 with the master's address,
    priority and VIP, Max Adver Int from the config: what the master sends)."""
    ads = pair.sniffer.adverts
    layout = pair.layout
    built = {}
    out = []
    i0, n = index_range(ads, t0_ns, t1_ns)
    for i in range(i0, n):
        t = ads.ts[i]
        if not t0_ns <= t < t1_ns:
            continue
        key = ads.src[i] << 8 | ads.vrid_prio[i] >> 8
        who = pair.instance_of.get(key)
        if who is None or who[0] != "master":
            continue
        j, prio = who[1], ads.vrid_prio[i] & 0xFF
        pkt = built.get((j, prio))
        if pkt is None:
            _k, vrid = layout.place(j)
            pkt = built[(j, prio)] = build_advert(
                3, vrid, prio, layout.advert_int_cs, [layout.vip(j)], family=4,
                src=str(IPv4Address(ads.src[i])), ip_header=True)
        out.append((t, j, pkt))
    out.sort(key=lambda e: e[0])
    return out


def replay(driver, count, stream, t_start, t_end):
    """Startup for every instance at t_start, then each packet at its wire time,
    the timers run as the loop driver runs them (run_until), up to t_end."""
    now = t_start
    for i in range(count):
        driver.event(i, now, Startup())
    for t, i, pkt in stream:
        now = run_until(driver, now, max(now, t))
        driver.packet(i, pkt, None, None, now)
    run_until(driver, now, t_end)
    return driver.adverts() if isinstance(driver, Bridged) else None


# -- the burst ------------------------------------------------------------------------------
@dataclasses.dataclass
class BurstRun:
    """What a burst (the 100 masters down to priority 50, then back) left to check."""

    t_start_ns: int                 # wall clock, just before the file was written
    t_end_ns: int                   # after the quiet period that follows the way back
                                    # (the notify calls may come later: waited for after it)
    log_marks: dict                 # role -> LogMark set before the burst
    transitions: dict               # role -> [(name, state)] logged up to t_end_ns
    fifo_lines: dict                # role -> FIFO lines written during the burst
    notify_calls: dict              # role -> [(name, state, prio)] during the burst
    seconds: dict                   # what each half took, seconds
    timeouts: list                  # the waits that timed out (what was missing)
    vips: dict                      # role -> how many of the VIPs it held at t_end_ns


def _fifo_waiter(pair, role, start, want):
    """A wait_for condition: each of `want` {name: state} seen in role's FIFO after
    line `start` (whatever came with it: the test judges that)."""
    def seen():
        pair.check_alive()
        got = set()
        for line in pair.fifos[role].snapshot()[start:]:
            m = _FIFO_RE.match(line)
            if m:
                got.add((m.group(1), m.group(2)))
        return set(want.items()) <= got or None
    return seen


_FIFO_RE = re.compile(r'INSTANCE "([^"]+)" (\w+) (\d+)$')


def run_burst(pair, *, quiet_s=0.5, timeout=3.0, notify_timeout=20.0):
    """Take the burst instances over to the backup and back, waiting each time
    for every FIFO line (the FIFO is the real-time channel: a line is written
    at the transition); then a bounded quiet period (a late, spurious
    transition would show in it), which ends the run's window (t_end_ns);
    then for every notify script call; return a BurstRun.  Nothing else is asked of the daemons meanwhile (no dumps).
    A wait that times out is recorded (`timeouts`), not raised: the test
    then shows what did happen."""
    names = pair.burst_names
    marks = {role: LogMark(pair.daemons[role]) for role in ROLES}
    fifo0 = {role: len(pair.fifos[role].snapshot()) for role in ROLES}
    notify0 = {role: len(pair.notify_calls(role)) for role in ROLES}
    seconds, timeouts = {}, []

    def wait(condition, what):
        try:
            wait_for(condition, timeout, what=what)
        except WaitTimeout as exc:
            timeouts.append(str(exc))

    def phase(name, burst, since, states):
        """Turn the burst on or off, then wait until both FIFOs show every burst
        instance in its new state."""
        t = time.monotonic()
        pair.set_burst(burst)
        for role, state in zip(("master", "backup"), states):
            wait(_fifo_waiter(pair, role, since[role], dict.fromkeys(names, state)),
                 "%d %s FIFO lines %s" % (len(names), role, state))
        seconds[name] = time.monotonic() - t

    t_start = time.time_ns()
    phase("down", True, fifo0, ("BACKUP", "MASTER"))
    fifo_mid = {role: len(pair.fifos[role].snapshot()) for role in ROLES}
    phase("up", False, fifo_mid, ("MASTER", "BACKUP"))
    time.sleep(quiet_s)              # the bounded observation window for late transitions
    pair.check_alive()
    t_end = time.time_ns()
    vips = {role: pair.e2e.vips_held(role) for role in ROLES}
    # the notify scripts run after the FIFO lines (queued per instance), as
    # processes of their own, at the normal scheduling policy: on a loaded
    # machine they may take seconds.  Wait for all of them, outside the
    # window (t_end) that the wire and the replay are judged on; the log's
    # transitions are read after this wait, so a late spurious one still shows.
    t = time.monotonic()
    for role in ROLES if pair.notify else ():
        try:
            wait_for(lambda role=role: len(pair.notify_calls(role))
                     >= notify0[role] + 2 * len(names) or None, notify_timeout,
                     what="%d %s notify script calls" % (2 * len(names), role))
        except WaitTimeout as exc:
            timeouts.append(str(exc))
    seconds["notify"] = time.monotonic() - t
    return BurstRun(
        t_start_ns=t_start, t_end_ns=t_end, log_marks=marks,
        transitions={role: marks[role].transitions() for role in ROLES},
        fifo_lines={role: pair.fifos[role].snapshot()[fifo0[role]:] for role in ROLES},
        notify_calls={role: pair.notify_calls(role)[notify0[role]:] for role in ROLES},
        seconds=seconds, timeouts=timeouts, vips=vips)


def master_gaps(pair, t0_ns, t1_ns):
    """{instance: the longest silence of the master on the wire in [t0, t1), ns}
    (a silence until t1 counts; so does one from t0 to the first advert)."""
    ads = pair.sniffer.adverts
    last = {}
    worst = {}
    i0, n = index_range(ads, t0_ns, t1_ns)
    for i in range(i0, n):
        t = ads.ts[i]
        if not t0_ns <= t < t1_ns:
            continue
        who = pair.instance_of.get(ads.src[i] << 8 | ads.vrid_prio[i] >> 8)
        if who is None or who[0] != "master":
            continue
        j = who[1]
        gap = t - last.get(j, t0_ns)
        if gap > worst.get(j, 0):
            worst[j] = gap
        last[j] = t
    for j in range(pair.layout.instances):
        gap = t1_ns - last.get(j, t0_ns)
        if gap > worst.get(j, 0):
            worst[j] = gap
    return worst


def master_pauses(pair, t0_ns, t1_ns, skip=()):
    """The longest silence of the master on the wire in [t0, t1) over its
    instances not in `skip` (names): (gap ms, instance name)."""
    skip = set(skip)
    gaps = [(g, j) for j, g in master_gaps(pair, t0_ns, t1_ns).items()
            if pair.layout.name(j) not in skip]
    if not gaps:
        return 0.0, None
    gap, j = max(gaps)
    return gap / 1e6, pair.layout.name(j)
