"""The end-to-end bench lab: a master and a backup router carrying N instances.

    sw:br0 ─┬─ master:eth0 10.0.0.1/24   (VRIDs 1..255 of instances 0..254)
            ├─ backup:eth0 10.0.0.2/24
            └─ client:eth0 10.0.0.100/24 (failover only: HTTP to the VIPs)
    sw:br1 ─┬─ master:eth1 10.0.1.1/24   (instances 255..509)
            └─ backup:eth1 10.0.1.2/24
    ...       ceil(N / 255) links per router, one bridge per link

Every instance is VRRPv3 over IPv4 (RFC 5798), one VIP each (10.200.0.0/16,
instance j holds 10.200.0.0 + j + 1), multicast to 224.0.0.18; the master
says `state MASTER` with priority 200, the backup `state BACKUP` with 100.
Both daemons get the identical generated config text (rendered from the
model by fastvrrp.config.render), so keepalived and fastvrrp run the same
thing.  One deliberate setting: `vrrp_garp_master_delay 0`, so a new master
sends its gratuitous ARPs once, at the transition, and no second burst lands
5 s later in a measuring window.

The daemon is a parameter (fastvrrp.bench.seed.DaemonCommand, presets
"keepalived" and "fastvrrp"), so every scenario runs keepalived today and
fastvrrp, unchanged, once its daemon runs VRRP.

Readiness is observed, never slept for (`wait_settled`): every instance
logged its final state (keepalived's "(VI_7) Entering MASTER STATE" lines,
which fastvrrp writes identically), the master holds every VIP and the
backup none (netlink dumps), and the sniffer has seen every VRID advertised
by the master.

    with E2ELab(Layout.from_seconds(500, 0.01)) as e2e:          # always torn down
        master, backup, _s = start_pair(e2e, "keepalived", sniffer, tag="x")
        ...                                                       # master.kill(), .terminate()
        stop_pair(e2e, master, backup)

A scenario's run() sits inside `run_guard(NAME)`: SIGTERM and Ctrl-C unwind
through the teardown and end with status 130.
"""

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

from .lab import Lab, LabError, LinkSpec
from .procstat import tree_rss_kb
from .nladdr import delete_ipv4, ipv4_addresses
from .seed import DaemonCommand, SeedError, daemon_command
from .waitfor import WaitTimeout, wait_for
from .wirestats import ip_int

PER_LINK = 255                       # VRIDs per interface and family (RFC 5798 §5.2.3)
MAX_LINKS = 200
MASTER_PRIORITY = 200
BACKUP_PRIORITY = 100
VIP_NET = ipaddress.IPv4Network("10.200.0.0/16")
CLIENT_ADDRESS = "10.0.0.100/24"
ROLES = ("master", "backup")


class E2EError(RuntimeError):
    """The end-to-end lab could not be built, or a daemon misbehaved."""


# -- RFC 5798 timers -------------------------------------------------------------------
# RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256
def skew_time_ns(priority, advert_int_ns):
    if not 1 <= priority <= 255:
        raise E2EError("priority %r is outside 1..255" % (priority,))
    return (256 - priority) * advert_int_ns // 256


# RFC 5798 §6.1: Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time
def master_down_interval_ns(priority, advert_int_ns):
    return 3 * advert_int_ns + skew_time_ns(priority, advert_int_ns)


@dataclass(frozen=True)
class Layout:
    """N instances over ceil(N / 255) links; instance j has VRID j % 255 + 1 on
    link j // 255 and VIP 10.200.0.0 + j + 1."""

    instances: int
    advert_int_cs: int

    def __post_init__(self):
        if not isinstance(self.instances, int) or not 1 <= self.instances <= PER_LINK * MAX_LINKS:
            raise E2EError("instances must be 1..%d, got %r" % (PER_LINK * MAX_LINKS,
                                                                self.instances))
        if not isinstance(self.advert_int_cs, int) or not 1 <= self.advert_int_cs <= 4095:
            # RFC 5798 §5.2.7: 12 bits of centiseconds
            raise E2EError("advert_int must be 0.01..40.95 s in centiseconds, got %r"
                           % (self.advert_int_cs,))

    @classmethod
    def from_seconds(cls, instances, advert_int_s):
        cs = round(advert_int_s * 100)
        if abs(cs - advert_int_s * 100) > 1e-6:
            raise E2EError("advert_int %r s is not a whole number of centiseconds" % advert_int_s)
        return cls(instances, cs)

    @property
    def links(self):
        return -(-self.instances // PER_LINK)

    @property
    def advert_int_ns(self):
        return self.advert_int_cs * 10_000_000

    @property
    def advert_int_s(self):
        return self.advert_int_cs / 100

    @property
    def expected_pps(self):
        """Adverts per second the master owes (RFC 5798 §6.4.3)."""
        return self.instances / self.advert_int_s

    def place(self, j):
        """(link index, VRID) of instance j."""
        return j // PER_LINK, j % PER_LINK + 1

    def name(self, j):
        return "VI_%d" % j

    def vip(self, j):
        return str(VIP_NET.network_address + j + 1)

    @property
    def names(self):
        return [self.name(j) for j in range(self.instances)]

    @property
    def vips(self):
        return [self.vip(j) for j in range(self.instances)]

    def theory_ms(self, priority=BACKUP_PRIORITY):
        """Master_Down_Interval of a backup at `priority`, ms (RFC 5798 §6.1)."""
        return master_down_interval_ns(priority, self.advert_int_ns) / 1e6


# -- configuration ---------------------------------------------------------------------
def make_config(layout, role):
    """The model Config of `role` ("master" or "backup")."""
    from fastvrrp.config.model import Config, GlobalDefs, IpAddress, VrrpInstance
    if role not in ROLES:
        raise E2EError("role must be one of %s, got %r" % (", ".join(ROLES), role))
    master = role == "master"
    instances = []
    for j in range(layout.instances):
        link, vrid = layout.place(j)
        instances.append(VrrpInstance(
            name=layout.name(j), vrid=vrid, interface="eth%d" % link, family=4, version=3,
            state="MASTER" if master else "BACKUP",
            priority=MASTER_PRIORITY if master else BACKUP_PRIORITY,
            advert_int_cs=layout.advert_int_cs,
            vips=(IpAddress(IPv4Address(layout.vip(j)), 32),),
            mcast_dst_ip=IPv4Address("224.0.0.18"), garp_master_delay_us=0))
    g = GlobalDefs(router_id="bench-%s" % role, vrrp_version=3, vrrp_garp_master_delay_us=0)
    return Config(global_defs=g, instances=tuple(instances))


def config_text(layout, role):
    """keepalived.conf text of `role`, identical for every daemon."""
    from fastvrrp.config.render import render
    return render(make_config(layout, role))


# -- the daemons -----------------------------------------------------------------------
_STATE_LINE = re.compile(rb"\(([^()\s]+)\) Entering (MASTER|BACKUP|FAULT) STATE")
_ESCALATIONS = re.compile(r"python_escalations\D{0,8}(\d+)")


class StateLog:
    """A daemon's console log, read incrementally for keepalived's state lines
    ("(VI_7) Entering MASTER STATE", also "... STATE (init)")."""

    def __init__(self, path):
        self.path = path
        self._offset = 0
        self._partial = b""
        self._states = {}
        self._count = 0

    def _read(self):
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()          # an unfinished line waits for its end
        for line in lines:
            m = _STATE_LINE.search(line)
            if m:
                self._states[m.group(1).decode("utf-8", "replace")] = m.group(2).decode()
                self._count += 1

    def states(self):
        """{instance name: the last state it entered}."""
        self._read()
        return dict(self._states)

    def transitions(self):
        """How many state lines so far."""
        self._read()
        return self._count


class Daemon:
    """One VRRP daemon on a lab node, with its own files under `tag`; its log's
    state lines are read by a StateLog (`states()`, `count_transitions()`)."""

    def __init__(self, e2e, role, command, text, *, tag):
        self.e2e, self.role, self.command = e2e, role, daemon_command(command)
        lab = e2e.lab
        stem = "%s-%s-%s" % (tag, self.command.name, role)
        self.config_path = lab.path(stem + ".conf")
        self.log_path = lab.path(stem + ".log")
        self.tmpdir = lab.path(stem + ".tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.pid_paths = {k: lab.path("%s%s.pid" % (stem, s))
                          for k, s in (("pid", ""), ("vrrp_pid", "-vrrp"),
                                       ("checkers_pid", "-checkers"))}
        with open(self.config_path, "w") as fh:
            fh.write(text)
        open(self.log_path, "wb").close()
        self.proc = None
        self.t_start_ns = None
        self.log = StateLog(self.log_path)

    @property
    def name(self):
        return self.command.name

    def argv(self):
        try:
            return self.command.resolve(config=self.config_path, **self.pid_paths)
        except SeedError as exc:
            raise E2EError(str(exc)) from None

    def start(self):
        """Start the daemon; t_start_ns (time.monotonic_ns) is taken just before the fork."""
        if self.running():
            raise E2EError("%s on %s is already running" % (self.name, self.role))
        argv = self.argv()
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["TMPDIR"] = self.tmpdir
        for path in self.pid_paths.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with open(self.log_path, "ab") as log:
            self.t_start_ns = time.monotonic_ns()
            self.proc = self.e2e.lab.popen(self.role, argv, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, env=env)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise E2EError("%s on the %s exited with status %s; log tail:\n%s"
                           % (self.name, self.role, self.proc.returncode, self.log_tail()))

    def kill(self):
        """SIGKILL to the whole process group at once (a keepalived child must not
        see its parent die first and stop cleanly); returns when reaped."""
        if not self.running():
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.e2e.lab.stop(self.proc, grace=5.0)

    def stop(self, grace=20.0):
        """SIGTERM: the daemon's clean stop (priority-0 adverts, VIPs removed)."""
        if self.proc is None:
            return None
        if self.proc in self.e2e.lab.processes():
            return self.e2e.lab.stop(self.proc, grace=grace)
        return self.proc.wait()

    def terminate(self):
        """Send SIGTERM without waiting (the caller watches the effects)."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGTERM)

    def rss_kb(self):
        return tree_rss_kb(self.pid) if self.running() else None

    # -- the log ------------------------------------------------------------------
    def states(self):
        """{instance name: last state entered}, from the log so far."""
        return self.log.states()

    def count_transitions(self):
        """State lines in the log so far."""
        return self.log.transitions()

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(max(0, os.path.getsize(self.log_path) - 16384))
                text = fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def python_escalations(self, timeout=10.0):
        """The fast path's escalation counter from the daemon's stats dump (SIGUSR2,
        $TMPDIR/keepalived.stats); None for keepalived or when the dump has none."""
        if self.name == "keepalived" or not self.running():
            return None
        path = os.path.join(self.tmpdir, "keepalived.stats")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.kill(self.proc.pid, signal.SIGUSR2)
        try:
            wait_for(lambda: os.path.exists(path), timeout, what="the stats dump of %s" % self.name)
        except WaitTimeout:
            return None
        with open(path, errors="replace") as fh:
            m = _ESCALATIONS.search(fh.read())
        return int(m.group(1)) if m else None


# -- the lab ---------------------------------------------------------------------------
class E2ELab:
    """The namespaces of one scenario run; a context manager that always tears down."""

    def __init__(self, layout, *, client=False, progress=None):
        self.layout = layout
        self.progress = progress or (lambda msg: None)
        self._vips = frozenset(layout.vips)
        self.lab = Lab()
        try:
            self._build(client)
        except BaseException:
            self.lab.close()
            raise

    def _build(self, client):
        n = self.layout.links
        t0 = time.monotonic()
        made = self.lab.star(ROLES, links_per_node=n, ipv6=False)
        self.links = {role: made[role] for role in ROLES}
        self.client_link = None
        if client:
            self.lab.add_node("client", ipv6=False)
            self.client_link = self.lab.connect(LinkSpec(node="client", bridge="br0",
                                                         ipv4=(CLIENT_ADDRESS,)))[0]
            # the VIPs are /32s on the routers' eth0..: reach them on-link, by ARP
            self.lab.iproute("client").route("add", dst=str(VIP_NET), oif=self.client_link.ifindex,
                                             scope=253)
        self.progress("lab %s: %d link(s) per router%s in %.1f s"
                      % (self.lab.id, n, ", a client" if client else "", time.monotonic() - t0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self.lab.close()

    def ns(self, role):
        return self.lab.ns(role)

    @property
    def port_ifindexes(self):
        """Switch-side ifindexes of every link: where the sniffer listens."""
        return [link.port_ifindex for link in self.lab.links]

    def sources(self, role):
        """The router's primary addresses (as ints): the sources of its adverts."""
        return {ip_int(link.ip4) for link in self.links[role]}

    def macs(self, role):
        return {link.mac for link in self.links[role]}

    def daemon(self, role, command, *, tag, layout=None):
        """A Daemon of `role` running the config of `layout` (default: the lab's)."""
        return Daemon(self, role, command, config_text(layout or self.layout, role), tag=tag)

    # -- VIPs -----------------------------------------------------------------------
    def vips_held(self, role):
        """How many of the layout's VIPs `role` holds now (a netlink dump)."""
        return sum(1 for _i, addr, _p in ipv4_addresses(self.ns(role)) if addr in self._vips)

    def remove_vips(self, role):
        """Delete every layout VIP left on `role` (after a SIGKILL); returns how many."""
        stale = [(i, a, p) for i, a, p in ipv4_addresses(self.ns(role)) if a in self._vips]
        for index, addr, plen in stale:
            delete_ipv4(self.ns(role), index, addr, plen)
        return len(stale)

    def set_links(self, role, up):
        """All of the router's links up or down (its side of each veth)."""
        ipr = self.lab.iproute(role)
        for link in self.links[role]:
            ipr.link("set", index=link.ifindex, state="up" if up else "down")

    def wait_links_running(self, role, timeout=10.0):
        self.lab.wait_links(self.links[role], timeout=timeout)


class AdvertTracker:
    """Which (source, VRID) pairs of `sources` the sniffer saw since a time, scanning
    only what arrived since the last call."""

    def __init__(self, sniffer, sources, since_wall_ns):
        self.sniffer, self.sources, self.since = sniffer, frozenset(sources), since_wall_ns
        self.pos = 0
        self.pairs = set()

    def update(self):
        ads = self.sniffer.adverts
        ts, src, vp = ads.ts, ads.src, ads.vrid_prio
        n = len(ads)                 # whole rows only: the sniffer thread may be mid-append
        for i in range(self.pos, n):
            if ts[i] >= self.since and src[i] in self.sources and vp[i] & 0xFF:
                self.pairs.add((src[i], vp[i] >> 8))
        self.pos = n
        return len(self.pairs)


def settle_timeout(layout):
    """A generous bound for start-up: Master_Down_Interval plus per-instance work."""
    return 30.0 + 4 * layout.theory_ms(BACKUP_PRIORITY) / 1000 + layout.instances * 0.01


def wait_settled(e2e, master, backup=None, sniffer=None, *, since_wall_ns=None, timeout=None):
    """Wait until every instance is settled (see the module docstring); returns the
    seconds waited.  Raises E2EError naming what was missing."""
    layout = e2e.layout
    names = layout.names
    n = layout.instances
    tracker = None
    if sniffer is not None:
        tracker = AdvertTracker(sniffer, e2e.sources("master"),
                                since_wall_ns if since_wall_ns is not None else time.time_ns())
    status = {}
    t0 = time.monotonic()

    def ready():
        for d in (master, backup):
            if d is not None:
                d.check_alive()
        if sniffer is not None:
            sniffer.check()
        status.clear()
        ms = master.states()
        status["master in MASTER"] = sum(1 for x in names if ms.get(x) == "MASTER")
        if backup is not None:
            bs = backup.states()
            status["backup in BACKUP"] = sum(1 for x in names if bs.get(x) == "BACKUP")
        if any(v < n for v in status.values()):
            return None
        status["VIPs on the master"] = e2e.vips_held("master")
        if status["VIPs on the master"] < n:
            return None
        if backup is not None:
            status["VIPs on the backup"] = e2e.vips_held("backup")
            if status["VIPs on the backup"]:
                return None
        if tracker is not None:
            status["VRIDs advertised"] = tracker.update()
            if status["VRIDs advertised"] < n:
                return None
        return True

    try:
        wait_for(ready, timeout or settle_timeout(layout), max_interval=0.05,
                 what="%d instance(s) settled" % n)
    except WaitTimeout:
        raise E2EError("instances did not settle (%s of %d); master log tail:\n%s%s"
                       % (", ".join("%s: %s" % kv for kv in status.items()), n,
                          master.log_tail(),
                          "\nbackup log tail:\n" + backup.log_tail() if backup else "")) from None
    return time.monotonic() - t0


def start_pair(e2e, command, sniffer=None, *, tag, progress=None):
    """Start the master, wait until it holds everything, start the backup, wait
    until every instance is settled; returns (master, backup, seconds).  On an
    error both are stopped before it propagates."""
    progress = progress or (lambda msg: None)
    master = e2e.daemon("master", command, tag=tag)
    backup = e2e.daemon("backup", command, tag=tag)
    try:
        t0 = time.monotonic()
        progress("%s: starting the master (%d instances)" % (master.name, e2e.layout.instances))
        since = time.time_ns()
        master.start()
        wait_settled(e2e, master, None, sniffer, since_wall_ns=since)
        progress("%s: master holds every VIP; starting the backup" % master.name)
        since = time.time_ns()
        backup.start()
        wait_settled(e2e, master, backup, sniffer, since_wall_ns=since)
        seconds = time.monotonic() - t0
        progress("%s: settled in %.2f s" % (master.name, seconds))
    except BaseException:
        stop_pair(e2e, master, backup)
        raise
    return master, backup, seconds


def stop_pair(e2e, master, backup):
    """Stop the backup then the master (clean stops); delete any VIP a daemon left
    behind so the next phase starts clean.  Returns how many were left."""
    for daemon in (backup, master):
        if daemon is not None:
            daemon.stop()
    return sum(e2e.remove_vips(role) for role in ROLES)


@contextlib.contextmanager
def run_guard(scenario, errors=()):
    """The frame of a scenario's run(): inside it SIGTERM raises KeyboardInterrupt
    in the main thread, so a stopped bench unwinds through its `with` blocks and
    tears the lab down; then a Ctrl-C or SIGTERM ends the run with status 130
    and a lab that cannot be built (not root, a tool missing; also `errors`)
    with a one-line error instead of a traceback."""
    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)      # a second one must not cut teardown
        raise KeyboardInterrupt("SIGTERM")
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:                      # not the main thread: leave SIGTERM alone
        old = None
    try:
        yield
    except KeyboardInterrupt:
        sys.stderr.write("fastvrrp bench %s: interrupted; the lab is torn down\n" % scenario)
        raise SystemExit(130) from None
    except (LabError, E2EError) + tuple(errors) as exc:
        raise SystemExit("fastvrrp bench %s: %s" % (scenario, exc)) from None
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def daemon_names(args):
    """The daemons a scenario runs: [--daemon] + [--compare], validated."""
    primary = daemon_command(args.daemon).name
    out = [primary]
    if getattr(args, "compare", None):
        compare = daemon_command(args.compare).name
        if compare == primary:
            raise E2EError("--compare %s is the daemon under test already" % compare)
        out.append(compare)
    return out


def add_daemon_arguments(parser):
    from .seed import DAEMONS
    parser.add_argument("--daemon", choices=sorted(DAEMONS), default="fastvrrp",
                        help="the daemon under test, in both roles (default: fastvrrp)")
    parser.add_argument("--compare", choices=["keepalived"], default=None,
                        help="also run the identical scenario with this daemon in both roles")


def add_lab_arguments(parser, *, instances, runs=None, runs_help=""):
    """--instances and --advert-int of every end-to-end scenario, --runs where it
    repeats, then --daemon / --compare."""
    parser.add_argument("--instances", type=int, default=instances, metavar="N",
                        help="VRRP instances on the master (default %d)" % instances)
    parser.add_argument("--advert-int", type=float, default=0.01, metavar="S",
                        help="advert_int in seconds, centisecond steps (default 0.01)")
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs, metavar="K",
                            help="%s (default %d)" % (runs_help, runs))
    add_daemon_arguments(parser)


def scenario_result(name, args, **extra):
    """(layout, daemon names, the result's leading keys) of scenario `name`, or
    SystemExit with the reason when the arguments are out of range."""
    try:
        layout = Layout.from_seconds(args.instances, args.advert_int)
        names = daemon_names(args)
    except E2EError as exc:
        raise SystemExit("fastvrrp bench %s: %s" % (name, exc))
    runs = getattr(args, "runs", None)
    if runs is not None and not 1 <= runs <= 100:
        raise SystemExit("fastvrrp bench %s: --runs must be 1..100" % name)
    result = {"scenario": name, "instances": layout.instances, "advert_int": layout.advert_int_s}
    result.update(extra)
    if runs is not None:
        result["runs"] = runs
    result.update({"daemon": names[0], "compare": names[1] if len(names) > 1 else None})
    return layout, names, result


__all__ = ["AdvertTracker", "BACKUP_PRIORITY", "Daemon", "DaemonCommand", "E2EError", "E2ELab",
           "Layout", "MASTER_PRIORITY", "add_daemon_arguments", "add_lab_arguments", "config_text",
           "daemon_names", "scenario_result",
           "make_config", "master_down_interval_ns", "run_guard", "settle_timeout",
           "skew_time_ns", "StateLog", "start_pair", "stop_pair", "wait_settled"]
