"""`fastvrrp bench steady`: N instances in steady state, side by side with the floor.

One lab (fastvrrp.bench.e2e_lab): a master carrying N VRRPv3 instances at
--advert-int, a backup, a sniffer on the switch.  Phases, each with its own
--duration window after everything settled:

  floor       the fast path's bare batch sender/receiver moving the same
              adverts at the same rate (fastvrrp.bench.e2e_floor): what the
              kernel alone costs on this machine;
  <daemon>    --daemon (default fastvrrp) in both roles;
  keepalived  with --compare keepalived, the identical configs.

Per daemon: CPU % of one core of each node's process tree and its RSS
(/proc, fastvrrp.bench.procstat); adverts the master owes (RFC 5798 §6.4.3:
one per Advertisement_Interval per instance) against those the sniffer saw
(`keepup`); lateness of each advert against its predecessor for the same
VRID, from kernel receive timestamps (fastvrrp.bench.wirestats); state
changes logged by either node inside the window, which should be none;
the fast path's Python escalations (fastvrrp only).  RSS growth per
instance is held against the same daemon running one instance
(`master_rss_1_kb`, `rss_kb_per_instance`).  Also reported:
`machine_cpu_pct` (all CPUs' time minus their idle time in the window, %
of one core), `ksoftirqd_cpu_pct` (packet work the kernel deferred to its
softirq threads, charged to no daemon), `other_cpu_pct` (the machine minus
the daemons, the sniffer and ksoftirqd: other users of a shared machine,
and kernel work done outside any process, e.g. softirqs on an idle CPU),
the sniffer's own CPU and its kernel drop count.  Each phase that fails reports
{"error": ...} and the others still run.
"""

import time

from .e2e_floor import Floor, FloorError
from .e2e_lab import (AdvertTracker, E2EError, E2ELab, Layout, add_lab_arguments, run_guard,
                      scenario_result, settle_timeout, start_pair, stop_pair)
from .procstat import CpuMeter, MachineMeter, PidsMeter, ProcError, pids_named
from .sniffer import Sniffer, SnifferError
from .waitfor import WaitTimeout, wait_for
from .wirestats import AdvertWindow

NAME = "steady"
HELP = "N instances in steady state: CPU, RSS, adverts kept up and their lateness, vs the floor"

PHASE_ERRORS = (E2EError, FloorError, SnifferError, ProcError, WaitTimeout, OSError)


def add_arguments(parser):
    add_lab_arguments(parser, instances=500)
    parser.add_argument("--duration", type=float, default=20.0, metavar="T",
                        help="the measuring window of each phase, seconds (default 20)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor phase")


class _Window:
    """CPU meters, the machine meter and the sniffer's CPU over one window."""

    def __init__(self, pids, sniffer):
        self.sniffer = sniffer
        self.sniffer_ns = sniffer.thread_cpu_ns() or 0
        self.machine = MachineMeter()
        self.softirq = PidsMeter(pids_named("ksoftirqd/"))
        self.meters = {role: CpuMeter(pid) for role, pid in pids.items()}
        self.t0 = time.time_ns()

    def run(self, seconds):
        time.sleep(seconds)           # the window itself: a span of time, not a wait for an event
        self.t1 = time.time_ns()
        self.cpu = {role: m.percent() for role, m in self.meters.items()}
        self.machine_pct = self.machine.percent()
        self.softirq_pct = self.softirq.percent()
        span = (self.t1 - self.t0) / 1e9
        self.sniffer_pct = 100.0 * ((self.sniffer.thread_cpu_ns() or 0) - self.sniffer_ns) \
            / 1e9 / span
        return self

    def machine_figures(self):
        own = sum(self.cpu.values()) + self.sniffer_pct + self.softirq_pct
        return {"machine_cpu_pct": self.machine_pct,
                "ksoftirqd_cpu_pct": self.softirq_pct,
                "other_cpu_pct": max(0.0, self.machine_pct - own),
                "sniffer_cpu_pct": self.sniffer_pct}


def _sniffer_figures(sn):
    stats = sn.stats()
    return {"sniffer_frames": stats["frames"], "sniffer_drops": stats["kernel_drops"]}


def measure_floor(e2e, duration, progress):
    layout = e2e.layout
    with Sniffer(e2e.ns("sw"), e2e.port_ifindexes) as sn:
        floor = Floor(e2e)
        try:
            progress("floor: starting the batch sender and receiver")
            since = time.time_ns()
            floor.start()
            tracker = AdvertTracker(sn, e2e.sources("master"), since)
            wait_for(lambda: tracker.update() >= layout.instances, settle_timeout(layout),
                     what="the floor sending every VRID")
            progress("floor: window of %g s" % duration)
            win = _Window({"send": floor.pid("send"), "recv": floor.pid("recv")}, sn).run(duration)
        finally:
            progress("floor: stopping")
            counters = floor.stop()
    adverts = AdvertWindow(sn.adverts, e2e.sources("master"), win.t0, win.t1,
                           layout.advert_int_ns)
    sent, got = counters["send"]["tx_packets"], counters["recv"]["rx_packets"]
    out = {"send_cpu_pct": win.cpu["send"], "recv_cpu_pct": win.cpu["recv"],
           "expected_pps": layout.expected_pps, "sent_pps": adverts.pps,
           "keepup": adverts.pps / layout.expected_pps,
           "recv_vs_sent": got / sent if sent else None,
           "send_batches": counters["send"]["tx_batches"],
           "python_escalations": counters["send"]["python_escalations"]}
    out.update(adverts.lateness())
    out.update(win.machine_figures())
    out.update(_sniffer_figures(sn))
    return out


def rss_baseline(e2e, name, progress):
    """VmRSS (kB) of the master's daemon running ONE instance of the same kind,
    settled (MASTER, its VIP held) and then left running for ten intervals."""
    one = Layout(1, e2e.layout.advert_int_cs)
    daemon = e2e.daemon("master", name, tag="rss1", layout=one)
    progress("%s: RSS baseline with one instance" % name)
    try:
        daemon.start()

        def settled():
            daemon.check_alive()
            return daemon.states().get(one.name(0)) == "MASTER" and e2e.vips_held("master") >= 1
        wait_for(settled, settle_timeout(one), what="%s with one instance settled" % name)
        time.sleep(max(1.0, 10 * one.advert_int_s))     # a dwell, so it runs as it will
        return daemon.rss_kb()
    finally:
        daemon.stop()
        e2e.remove_vips("master")


def measure_daemon(e2e, name, duration, progress):
    layout = e2e.layout
    rss_one = rss_baseline(e2e, name, progress)
    with Sniffer(e2e.ns("sw"), e2e.port_ifindexes) as sn:
        master = backup = None
        try:
            master, backup, settle_s = start_pair(e2e, name, sn, tag="steady", progress=progress)
            esc0 = [d.python_escalations() for d in (master, backup)]
            trans0 = master.count_transitions() + backup.count_transitions()
            progress("%s: window of %g s" % (name, duration))
            win = _Window({"master": master.pid, "backup": backup.pid}, sn).run(duration)
            rss = {"master": master.rss_kb(), "backup": backup.rss_kb()}
            trans = master.count_transitions() + backup.count_transitions() - trans0
            for d in (master, backup):
                d.check_alive()
            esc1 = [d.python_escalations() for d in (master, backup)]
        finally:
            progress("%s: stopping" % name)
            left = stop_pair(e2e, master, backup)
    if left:
        progress("%s: %d VIP(s) were left behind by a stop and removed" % (name, left))
    adverts = AdvertWindow(sn.adverts, e2e.sources("master"), win.t0, win.t1,
                           layout.advert_int_ns)
    from_backup = AdvertWindow(sn.adverts, e2e.sources("backup"), win.t0, win.t1,
                               layout.advert_int_ns)
    escalations = None
    if None not in esc0 + esc1:
        escalations = sum(esc1) - sum(esc0)
    out = {"master_cpu_pct": win.cpu["master"], "backup_cpu_pct": win.cpu["backup"],
           "master_rss_kb": rss["master"], "backup_rss_kb": rss["backup"],
           "master_rss_1_kb": rss_one,
           "rss_kb_per_instance": ((rss["master"] - rss_one) / (layout.instances - 1)
                                   if layout.instances > 1 and rss["master"] else None),
           "expected_pps": layout.expected_pps, "sent_pps": adverts.pps,
           "keepup": adverts.pps / layout.expected_pps}
    out.update(adverts.lateness())
    out.update({"spurious_transitions": trans, "backup_adverts": from_backup.count,
                "python_escalations": escalations, "settle_s": settle_s})
    out.update(win.machine_figures())
    out.update(_sniffer_figures(sn))
    return out


def _ratio(a, b):
    return a / b if a is not None and b else None


def ratios(result, primary, compare):
    p = result.get(primary, {})
    floor = result.get("floor", {})
    out = {}
    if compare:
        k = result.get(compare, {})
        out["master_cpu_vs_%s" % compare] = _ratio(p.get("master_cpu_pct"), k.get("master_cpu_pct"))
        out["backup_cpu_vs_%s" % compare] = _ratio(p.get("backup_cpu_pct"), k.get("backup_cpu_pct"))
    if floor:
        out["master_cpu_vs_floor"] = _ratio(p.get("master_cpu_pct"), floor.get("send_cpu_pct"))
        out["backup_cpu_vs_floor"] = _ratio(p.get("backup_cpu_pct"), floor.get("recv_cpu_pct"))
        if compare:
            k = result.get(compare, {})
            out["%s_master_cpu_vs_floor" % compare] = _ratio(k.get("master_cpu_pct"),
                                                             floor.get("send_cpu_pct"))
            out["%s_backup_cpu_vs_floor" % compare] = _ratio(k.get("backup_cpu_pct"),
                                                             floor.get("recv_cpu_pct"))
    return out


def run(args, progress):
    if not 0 < args.duration <= 3600:
        raise SystemExit("fastvrrp bench steady: --duration must be within (0, 3600] s")
    layout, names, result = scenario_result(NAME, args, duration_s=args.duration)
    with run_guard(NAME):
        progress("setup: %d instances at %g s over %d link(s) per router"
                 % (layout.instances, layout.advert_int_s, layout.links))
        with E2ELab(layout, progress=progress) as e2e:
            if not args.no_floor:
                result["floor"] = _phase(lambda: measure_floor(e2e, args.duration, progress),
                                         "floor", progress)
            for name in names:
                result[name] = _phase(lambda: measure_daemon(e2e, name, args.duration, progress),
                                      name, progress)
            progress("teardown")
    result["ratios"] = ratios(result, names[0], names[1] if len(names) > 1 else None)
    return result


def _phase(body, what, progress):
    """One phase's figures, or {"error": ...} when it failed (the others still run)."""
    try:
        return body()
    except PHASE_ERRORS as exc:
        progress("%s failed: %s" % (what, exc))
        return {"error": str(exc)}
