"""`make demo` / `python -m fastvrrp.bench.demo`: the seed scenario, narrated.

Builds the seed's two nginx hosts and a client in network namespaces
(fastvrrp.bench.seed), runs its steps with the chosen daemon on each node, and
tells what happened with the measured times and PASS/FAIL per step.  The lab
is always torn down, on Ctrl-C and SIGTERM too.

    python -m fastvrrp.bench.demo                          # fastvrrp on both nodes
    python -m fastvrrp.bench.demo --daemon keepalived      # keepalived on both nodes
    python -m fastvrrp.bench.demo --failure                # plus: nginx cannot restart

Exit status: 0 when every step passed, 1 when one failed, 2 when the lab
could not be built (not root, a tool missing), 130 on Ctrl-C.
"""

import argparse
import os
import signal
import sys
import time

from .lab import LabError
from .seed import DAEMONS, STEPS, SeedError, run_scenario

# The daemon both nodes run unless told otherwise (the engine, issue 4, runs VRRP).
DEFAULT_DAEMON = "fastvrrp"

_MARKS = {"do": ">", "saw": "*", "time": "~", "lab": " ", "change": " "}


def parser():
    ap = argparse.ArgumentParser(
        prog="python -m fastvrrp.bench.demo",
        description="The seed scenario (two nginx hosts sharing one keepalived VIP) in "
                    "network namespaces, narrated with measured timings.  Needs root.")
    ap.add_argument("--daemon", choices=sorted(DAEMONS), default=DEFAULT_DAEMON,
                    help="the VRRP daemon of both nodes (default: %(default)s)")
    ap.add_argument("--master-daemon", choices=sorted(DAEMONS),
                    help="the master's daemon (default: --daemon)")
    ap.add_argument("--backup-daemon", choices=sorted(DAEMONS),
                    help="the backup's daemon (default: --daemon)")
    ap.add_argument("--failure", action="store_true",
                    help="then break the master's nginx: the check script cannot restart it, "
                         "stops the master's daemon, and the VIP moves")
    return ap


class Printer:
    """Turns SeedLab's narration into the demo's text."""

    def __init__(self, out):
        self.out = out

    def __call__(self, kind, text):
        if kind == "step":
            self.out.write("\n== %s ==\n" % text)
        elif kind == "check":
            if text.startswith("step "):
                self.out.write("  -> %s\n" % text.upper())
            else:
                self.out.write("  %s\n" % text)
        elif kind == "change":
            self.out.write("    %s\n" % text)
        else:
            self.out.write("  %s %s\n" % (_MARKS.get(kind, "-"), text))
        self.out.flush()


_MAIN_PID = None


def _terminate(signum, _frame):
    if os.getpid() != _MAIN_PID:   # a forked child (a library's helper) just ends
        os._exit(128 + signum)
    raise SystemExit(128 + signum)


def summary(results, out, planned):
    out.write("\n== Summary ==\n")
    for step in results:
        out.write("  %d. %s  %s\n" % (step.number, "PASS" if step.passed else "FAIL",
                                      step.title))
        for label, (ms, expected) in step.timings.items():
            out.write("             %-50s %7.0f ms%s\n" % (label, ms, "" if expected is None
                                                      else "   (expected ~%.0f)" % expected))
    for number in range(len(results) + 1, planned + 1):
        out.write("  %d. ----  not run (an earlier step failed)\n" % number)


def main(argv=None):
    args = parser().parse_args(argv)
    master = args.master_daemon or args.daemon
    backup = args.backup_daemon or args.daemon
    out = sys.stdout
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)   # even if started with it ignored
    printer = Printer(out)
    out.write("fastvrrp seed demo: master runs %s, backup runs %s%s\n"
              % (master, backup, " (plus the failure case)" if args.failure else ""))
    out.write("The seed: two nginx hosts, keepalived holding one VIP (VRID 66, advert_int 1, "
              "PASS auth),\nchk_http_port every 2 s with weight 2 restarting nginx or stopping "
              "keepalived.\n\n== Lab ==\n")
    out.flush()
    planned = len(STEPS) + (1 if args.failure else 0)
    t0 = time.monotonic()
    try:
        results = run_scenario(master, backup, failure=args.failure, narrate=printer)
    except (SeedError, LabError) as exc:
        sys.stderr.write("demo: %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ndemo: interrupted; the lab was torn down\n")
        return 130
    except SystemExit:
        sys.stderr.write("\ndemo: terminated; the lab was torn down\n")
        raise
    summary(results, out, planned)
    passed = len(results) == planned and all(r.passed for r in results)
    out.write("\nresult: %s (%d of %d steps passed) in %.1f s; the lab is gone\n"
              % ("PASS" if passed else "FAIL", sum(r.passed for r in results), planned,
                 time.monotonic() - t0))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
