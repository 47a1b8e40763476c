"""`fastvrrp bench startup`: process start to every VIP present, and clean stop to none.

The master of fastvrrp.bench.e2e_lab alone (N instances, `state MASTER`,
priority 200, nobody else advertising): RFC 5798 §6.4.1 has it wait as a
Backup first (keepalived 2.2.7 waits Master_Down_Interval before a
non-owner `state MASTER` instance takes over), then it becomes master and
adds its VIPs over netlink.

  all_vips_s         the fork of the daemon to the RTM_NEWADDR that completes
                     the set of N VIPs in the master's namespace;
  stop_vips_gone_s   SIGTERM to the RTM_DELADDR that removes the last one.

Both from rtnetlink notifications stamped on arrival (fastvrrp.bench.e2e_vips),
medians over --runs; every run is reported too.
"""

import time

from .e2e_lab import (E2EError, E2ELab, add_lab_arguments, run_guard,
                      scenario_result, settle_timeout)
from .e2e_vips import VipWatch, VipWatchError
from .steady import PHASE_ERRORS
from .wirestats import median

NAME = "startup"
HELP = "daemon start to every VIP present, and SIGTERM to every VIP gone (netlink)"


def add_arguments(parser):
    add_lab_arguments(parser, instances=1000, runs=3,
                      runs_help="starts and stops of each daemon")


def one_run(e2e, name, k):
    layout = e2e.layout
    timeout = settle_timeout(layout)
    with VipWatch(e2e.ns("master"), layout.vips) as watch:
        if watch.present:
            raise E2EError("%d VIP(s) already present before the start" % len(watch.present))
        daemon = e2e.daemon("master", name, tag="startup%d" % k)
        try:
            daemon.start()
            try:
                t_all = watch.wait_count(layout.instances, timeout, check=daemon.check_alive)
                t_stop = time.monotonic_ns()
                daemon.terminate()
                t_gone = watch.wait_count(0, timeout)
            except VipWatchError as exc:
                raise E2EError("%s: %s; log tail:\n%s" % (name, exc, daemon.log_tail())) from None
        finally:
            code = daemon.stop()
        if code not in (0, None):
            raise E2EError("%s exited with status %s after SIGTERM; log tail:\n%s"
                           % (name, code, daemon.log_tail()))
        return {"all_vips_s": (t_all - daemon.t_start_ns) / 1e9,
                "stop_vips_gone_s": (t_gone - t_stop) / 1e9, "lost_notifications": watch.lost}


def measure_daemon(e2e, name, runs, progress):
    out_runs = []
    for k in range(runs):
        progress("%s: start/stop run %d/%d" % (name, k + 1, runs))
        try:
            out_runs.append(one_run(e2e, name, k))
        finally:
            left = e2e.remove_vips("master")
            if left:
                progress("%s: removed %d VIP(s) left behind" % (name, left))
    return {"all_vips_s": median(r["all_vips_s"] for r in out_runs),
            "stop_vips_gone_s": median(r["stop_vips_gone_s"] for r in out_runs),
            "runs": out_runs}


def run(args, progress):
    layout, names, result = scenario_result(NAME, args)
    with run_guard(NAME):
        progress("setup: %d instances at %g s" % (layout.instances, layout.advert_int_s))
        with E2ELab(layout, progress=progress) as e2e:
            for name in names:
                try:
                    result[name] = measure_daemon(e2e, name, args.runs, progress)
                except PHASE_ERRORS + (VipWatchError,) as exc:
                    progress("%s failed: %s" % (name, exc))
                    result[name] = {"error": str(exc)}
            progress("teardown")
    if len(names) > 1:
        a = result.get(names[0], {}).get("all_vips_s")
        b = result.get(names[1], {}).get("all_vips_s")
        result["ratios"] = {"all_vips_vs_%s" % names[1]: a / b if a is not None and b else None}
    return result
