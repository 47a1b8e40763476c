"""`fastvrrp bench failover`: how fast the backup takes over, on the wire and for a client.

The lab of fastvrrp.bench.e2e_lab plus a client namespace on br0 asking
http://VIP/ (instance 0's VIP) of Python http.servers on both routers
(fastvrrp.bench.e2e_http).  --runs times each:

  kill    the master's daemon gets SIGKILL (its whole process group) and its
          links go down: a power cut.  RFC 5798 §6.4.2: the backup hears no
          advert for Master_Down_Interval (3 x Advertisement_Interval +
          Skew_Time, `theory_ms`), becomes master and announces its VIPs
          with gratuitous ARP (RFC 5798 §6.4.2 / keepalived's GARP burst).
          lastadv_to_garp_ms: the old master's last advert to the new
          master's first gratuitous ARP, both as received at the switch (with
          N instances: per instance, its VRID's last advert to the first
          gratuitous ARP for its VIP; a run counts its slowest instance);
          event_to_reachable_ms: the kill to the client's first reply from
          the backup; first_vip_ms / last_vip_ms (with --instances > 1): the
          kill to the first and to the last VIP announced by the backup.
  stop    the master's daemon gets SIGTERM: it sends priority-0 adverts
          (RFC 5798 §6.4.3), the backup waits only Skew_Time (RFC 5798
          §6.4.2).  priority0_handover_ms: the first priority-0 advert to the
          backup's first gratuitous ARP (`priority0_theory_ms`: Skew_Time).

After each run the master comes back (addresses it held cleared, links up,
daemon restarted) and everything settles again before the next.  Reported:
p50 (and max) over the runs, and every run.
"""

import time

from .e2e_http import HttpError, Prober, Servers
from .e2e_lab import (BACKUP_PRIORITY, E2EError, E2ELab, add_lab_arguments,
                      run_guard, scenario_result, settle_timeout, skew_time_ns, start_pair,
                      stop_pair, wait_settled)
from .sniffer import Sniffer
from .steady import PHASE_ERRORS
from .waitfor import WaitTimeout, wait_for
from .wirestats import (first_garps, first_zero_priority_after, ip_int, last_adverts_before,
                        maximum, median)

NAME = "failover"
HELP = "SIGKILL / SIGTERM the master: takeover times on the wire and for an HTTP client"


def add_arguments(parser):
    add_lab_arguments(parser, instances=1, runs=3, runs_help="failovers of each kind")


def _ms(a_ns, b_ns):
    return None if a_ns is None or b_ns is None else (a_ns - b_ns) / 1e6


class _Runner:
    """One daemon's runs in the lab; keeps the backup running throughout."""

    def __init__(self, e2e, name, sniffer, prober, progress):
        self.e2e, self.name, self.sn, self.prober, self.progress = \
            e2e, name, sniffer, prober, progress
        layout = e2e.layout
        self.vips = [ip_int(v) for v in layout.vips]
        sources = [ip_int(link.ip4) for link in e2e.links["master"]]
        self.vip_of = {}                # (master source, VRID) -> VIP, per instance
        for j, vip in enumerate(self.vips):
            link, vrid = layout.place(j)
            self.vip_of[(sources[link], vrid)] = vip
        self.timeout = settle_timeout(e2e.layout)
        self.restarts = 0

    def start(self):
        self.master, self.backup, _s = start_pair(self.e2e, self.name, self.sn,
                                                  tag="failover", progress=self.progress)
        self._client_sees("master", time.monotonic_ns())

    def _client_sees(self, page, since_ns):
        if self.prober.wait_first(page, since_ns, self.timeout) is None:
            raise E2EError("the client got no reply from the %s behind the VIP" % page)

    def _takeover(self, t_wall, t_mono):
        """Wait until the backup announced every VIP and served the client."""
        macs = self.e2e.macs("backup")
        status = {}

        def done():
            self.sn.check()
            self.backup.check_alive()
            status["VIPs announced"] = len(first_garps(self.sn.arps, macs, t_wall, self.vips))
            status["client served"] = self.prober.first("backup", t_mono) is not None
            return status["VIPs announced"] == len(self.vips) and status["client served"]
        try:
            wait_for(done, self.timeout, what="the backup taking over")
        except WaitTimeout:
            raise E2EError("the backup did not take over (%s); backup log tail:\n%s"
                           % (status, self.backup.log_tail())) from None
        return first_garps(self.sn.arps, macs, t_wall, self.vips)

    def kill_run(self):
        self.prober.fast()
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        self.master.kill()
        t_dead = time.time_ns()
        self.e2e.set_links("master", False)
        garps = self._takeover(t_wall, t_mono)
        reachable = self.prober.first("backup", t_mono)
        self.prober.slow()
        last = last_adverts_before(self.sn.adverts, self.e2e.sources("master"), t_dead)
        # per instance: its VRID's last advert to the first gratuitous ARP for its VIP
        gaps = [garps[vip] - last[pair] for pair, vip in self.vip_of.items() if pair in last]
        if len(gaps) != len(self.vips):
            raise E2EError("adverts of %d instance(s) were never seen before the kill"
                           % (len(self.vips) - len(gaps)))
        first, final = min(garps.values()), max(garps.values())
        run = {"lastadv_to_garp_ms": max(gaps) / 1e6, "lastadv_to_garp_ms_min": min(gaps) / 1e6,
               "event_to_reachable_ms": _ms(reachable, t_mono),
               "first_vip_ms": _ms(first, t_wall), "last_vip_ms": _ms(final, t_wall)}
        self.e2e.remove_vips("master")             # a powered-off host keeps no addresses
        self.e2e.set_links("master", True)
        self.e2e.wait_links_running("master")
        self._restart_master()
        return run

    def stop_run(self):
        self.prober.fast()
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        self.master.terminate()
        garps = self._takeover(t_wall, t_mono)
        reachable = self.prober.first("backup", t_mono)
        self.prober.slow()
        zero = first_zero_priority_after(self.sn.adverts, self.e2e.sources("master"), t_wall)
        self.master.stop()
        run = {"priority0_handover_ms": _ms(min(garps.values()), zero),
               "event_to_reachable_ms": _ms(reachable, t_mono)}
        self._restart_master()
        return run

    def _restart_master(self):
        self.restarts += 1
        t_mono, t_wall = time.monotonic_ns(), time.time_ns()
        self.master = self.e2e.daemon("master", self.name, tag="failover%d" % self.restarts)
        self.master.start()
        wait_settled(self.e2e, self.master, self.backup, self.sn, since_wall_ns=t_wall)
        self._client_sees("master", t_mono)

    def finish(self):
        """Stop both daemons and leave the lab as found (links up, no VIPs, the
        client probing slowly), even after a failed run."""
        left = stop_pair(self.e2e, getattr(self, "master", None), getattr(self, "backup", None))
        self.e2e.set_links("master", True)
        self.e2e.wait_links_running("master")
        self.prober.slow()
        return left


def measure_daemon(e2e, name, runs, prober, progress):
    layout = e2e.layout
    kills, stops = [], []
    with Sniffer(e2e.ns("sw"), e2e.port_ifindexes) as sn:
        runner = _Runner(e2e, name, sn, prober, progress)
        try:
            runner.start()
            for k in range(runs):
                progress("%s: kill run %d/%d (SIGKILL, links down)" % (name, k + 1, runs))
                kills.append(runner.kill_run())
            for k in range(runs):
                progress("%s: stop run %d/%d (SIGTERM: priority 0)" % (name, k + 1, runs))
                stops.append(runner.stop_run())
        finally:
            progress("%s: stopping" % name)
            runner.finish()
        drops = sn.stats()["kernel_drops"]
    out = {"theory_ms": layout.theory_ms(BACKUP_PRIORITY),
           "lastadv_to_garp_ms_p50": median(r["lastadv_to_garp_ms"] for r in kills),
           "lastadv_to_garp_ms_max": maximum(r["lastadv_to_garp_ms"] for r in kills),
           "event_to_reachable_ms_p50": median(r["event_to_reachable_ms"] for r in kills),
           "priority0_handover_ms_p50": median(r["priority0_handover_ms"] for r in stops),
           "priority0_theory_ms": skew_time_ns(BACKUP_PRIORITY, layout.advert_int_ns) / 1e6}
    if layout.instances > 1:
        out["first_vip_ms_p50"] = median(r["first_vip_ms"] for r in kills)
        out["last_vip_ms_p50"] = median(r["last_vip_ms"] for r in kills)
    out.update({"kill_runs": kills, "stop_runs": stops, "sniffer_drops": drops})
    return out


def run(args, progress):
    layout, names, result = scenario_result(NAME, args)
    with run_guard(NAME, (HttpError,)):
        progress("setup: %d instance(s) at %g s, a client on br0" % (layout.instances,
                                                                    layout.advert_int_s))
        with E2ELab(layout, client=True, progress=progress) as e2e:
            prober = None
            try:
                Servers(e2e).start()
                prober = Prober(e2e, layout.vip(0)).start()
                for name in names:
                    try:
                        result[name] = measure_daemon(e2e, name, args.runs, prober, progress)
                    except PHASE_ERRORS + (HttpError,) as exc:
                        progress("%s failed: %s" % (name, exc))
                        result[name] = {"error": str(exc)}
            finally:
                progress("teardown")
                if prober is not None:
                    prober.stop()
    p, k = result.get(names[0], {}), result.get(names[1], {}) if len(names) > 1 else {}
    if k:
        def ratio(key):
            a, b = p.get(key), k.get(key)
            return a / b if a is not None and b else None
        result["ratios"] = {"lastadv_to_garp_vs_%s" % names[1]: ratio("lastadv_to_garp_ms_p50"),
                            "event_to_reachable_vs_%s" % names[1]:
                                ratio("event_to_reachable_ms_p50")}
    return result
